//! A stateful simulator of the eSIM Story partner API: signed order
//! creation with every documented refusal, then one webhook per ordered
//! unit carrying its eSIM, sent to the URL the operator registered.
//!
//! Admin hooks under [`ADMIN_PREFIX`](crate::simulator::ADMIN_PREFIX): `POST /__admin/webhook {"url": ..}`
//! sets where eSIMs are delivered (and delivers what was waiting), `DELETE`
//! switches webhooks off; `GET /__admin/stats`;
//! `POST /__admin/redeliver {"external_order_id": ..}` sends an order's
//! webhooks again, as providers do; `GET /__admin/purchases` lists every
//! order taken (see [`crate::simulator::PurchaseList`]). eSIM Story names an
//! order only by the partner's `external_order_id`, so that is both its
//! reference and its caller reference.

mod routes;
mod state;

pub use state::{EsimStorySandbox, ORDERS_PATH, SANDBOX_SMDP, StorySandboxConfig};
