//! A stateful simulator of Telnyx addresses and SIM card orders.
//!
//! Orders walk `pending → processing → ready_to_ship → shipped →
//! delivered`, one step per [`TelnyxSandboxConfig::step`] after creation,
//! and get a tracking URL once shipped; an admin hook cancels one that has
//! not shipped. Lists take every documented `filter[...]` and
//! `page[number]`/`page[size]` (1..250), newest order first. Errors are
//! JSON:API bodies with Telnyx codes; with a rate limit configured, every
//! answer carries `x-ratelimit-*` headers and the excess gets 429 / 10011.
//!
//! Every route but the admin ones needs `Authorization: Bearer <api_key>`.
//! Admin hooks under [`ADMIN_PREFIX`](crate::simulator::ADMIN_PREFIX): `POST
//! /__admin/sim_card_orders/{id}/cancel`, `POST
//! /__admin/sim_card_orders/{id}/tracking_url` (body `{"tracking_url": "…"}`:
//! the URL the order carries once shipped, any string, to test how clients
//! show a hostile one) and `GET /__admin/purchases`
//! (every order created, sku `sim_card`; Telnyx keeps no caller reference;
//! see [`crate::simulator::PurchaseList`]), besides the shared
//! `/__admin/faults`.

mod routes;
mod state;

pub use state::{
    DEFAULT_API_KEY, EMBARGOED, SHIPPING_PRICE, SIM_CARD_PRICE, TelnyxSandbox, TelnyxSandboxConfig,
};
