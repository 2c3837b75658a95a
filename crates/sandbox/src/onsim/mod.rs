//! A stateful simulator of the ONSIM reseller API: numbers and SIMs held in
//! reserve, lines provisioned on them (own UC or ONSIM UC), services,
//! bundles with usage, recording, eSIM codes that refresh until installed,
//! groups, ports and subscribers, and cease.
//!
//! It starts with RESERVED numbers, eSIMs and pSIMs (valid printed ICCIDs;
//! the API speaks their 19-digit short forms), a catalogue, and ports in
//! every documented state plus one undocumented (`ON HOLD`).
//! `GET /account/{mpn}` answers `account` as an array for accounts with an
//! even `i_account` and as an object for odd ones: both documented forms.
//!
//! Every route but the admin ones needs `Authorization: Bearer <api_key>`.
//! Admin hooks under [`ADMIN_PREFIX`](crate::simulator::ADMIN_PREFIX): `POST /__admin/accounts/{mpn}/install`
//! (the line's eSIM is installed and enabled on a device) and
//! `POST /__admin/accounts/{mpn}/usage` (`{"mb": n}`: data used) and
//! `GET /__admin/purchases` (every line provisioned, by number, with its
//! bundle; ceased lines stay listed; see [`crate::simulator::PurchaseList`]),
//! besides the shared `/__admin/faults`. QR images the generator links to are
//! served, without auth, under `/__qr/`.

mod routes;
mod state;

pub use state::{
    DEFAULT_API_KEY, OWN_UC_BUNDLE, OnsimSandbox, OnsimSandboxConfig, SANDBOX_SMDP, SIP_DOMAIN,
};
