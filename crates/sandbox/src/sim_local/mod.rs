//! A stateful simulator of Sim Local UNITE: OAuth2 client credentials with
//! expiring tokens, destinations, offerings, faulty reasons, and orders that
//! walk the real status sequence on a timer and announce their end by the
//! fulfilment webhook.
//!
//! Admin hooks under [`ADMIN_PREFIX`](crate::simulator::ADMIN_PREFIX): `POST|DELETE /__admin/webhook`
//! (`{"url": ..}`), `GET /__admin/stats`, `POST /__admin/revoke-tokens`,
//! `POST /__admin/loose-search` (`{"enabled": true}`: the order search
//! ignores `external_reference` and answers every order, in id order),
//! `GET /__admin/purchases` (every order created, with its
//! `external_reference` as the caller reference; see
//! [`crate::simulator::PurchaseList`]).
//!
//! Following the document (`000_5166111958b1650e.txt`, checked by
//! `tests/conformance.rs`): orders keep `payment_details`, `kyc_details`,
//! `contact_name` and `contact_email` as sent; the search page carries both
//! Spring's camelCase counts and the snake_case `total_pages` and
//! `number_of_elements` its example shows, with `pageable` and `sort`;
//! order creation answers 200, as the document's only response.

mod routes;
mod state;

pub use state::{
    FAILING_OFFERING, FAULTY_REASONS, SANDBOX_SMDP, SimLocalSandbox, SimLocalSandboxConfig,
    TOKEN_PATH,
};
