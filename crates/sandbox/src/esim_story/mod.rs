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
//!
//! Following the document (`004_e4ae93d27b8ce4be.txt`, checked by
//! `tests/conformance.rs`): a body that is not JSON answers 400
//! `{"error": "Invalid JSON format"}`; well-formed JSON missing a field or
//! with an invalid `qty` answers 422 with the documented `{"errors": [..]}`.
//! Webhooks carry a real `qrcode_img_url`, in the document's URL form
//! (`/api/iccid/qrcode/{lpa}/120`), served by the simulator at [`QR_PATH`]
//! once it is spawned on a port.

mod routes;
mod state;

pub use state::{EsimStorySandbox, ORDERS_PATH, QR_PATH, SANDBOX_SMDP, StorySandboxConfig};
