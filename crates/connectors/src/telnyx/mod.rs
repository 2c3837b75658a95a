//! Telnyx SIM card orders: shipping addresses and orders of physical SIM
//! cards, which ship and are delivered rather than activate.
//!
//! Documented, and followed: base `https://api.telnyx.com/v2`,
//! `Authorization: Bearer KEY`; `POST /addresses` (whose `id` is an
//! order's `address_id`); `POST /sim_card_orders {address_id, quantity}`;
//! `GET /sim_card_orders/{id}`; `GET /sim_card_orders` with every
//! `filter[...]` of the reference and `page[number]` ≥ 1, `page[size]`
//! 1..250 (default 20); `POST /sim_card_order_preview` answering 202 or
//! 422; amounts as strings (kept exact); statuses `pending → processing →
//! ready_to_ship → shipped → delivered` or `canceled`; errors
//! `{"errors": [{code, title, detail, source}]}` with Telnyx codes (10004
//! missing parameter, 10005 not found, 10006 invalid id, 10009
//! authentication failed, 10011 rate limited, 10015 bad request).
//!
//! Assumptions where nothing is published (mirrored by the sandbox):
//! - Telnyx sends no webhook for SIM card orders, so simgate polls them.
//! - `x-ratelimit-reset` is the seconds until the window resets; a 429 is
//!   retried by the shared policy and then reported with that wait.
//! - A missing field is 422 with code 10004 and a `source.pointer`; a bad
//!   query parameter is 400 with 10015 and a `source.parameter`; an
//!   unknown `address_id` in an order is 422 with 10005.
//! - `filter[created_at]`/`filter[updated_at]` match the instant exactly;
//!   lists answer newest order first.
//! - An order's cost includes shipping and equals its preview's
//!   `total_cost`; the order keeps none of the caller's references, so a
//!   lost creation answer is found again by address, quantity and time.

pub mod client;
pub mod transform;
pub mod types;

pub use client::{TelnyxClient, TelnyxConfig};

/// This provider's entry in simgate's provider table.
pub const DESCRIPTOR: crate::descriptor::ProviderDescriptor =
    crate::descriptor::ProviderDescriptor {
        id: simgate_domain::ProviderId::Telnyx,
        kind: crate::descriptor::ProviderKind::SimOrders,
        name: "Telnyx",
        section: "telnyx",
    };
