//! ONSIM reseller API: subscriber lines (a number, a SIM, services, a data
//! bundle and a SIP account) on the reseller's own UC or on ONSIM's, with the
//! numbers, SIMs, ports, groups and subscribers around them.
//!
//! Documented, and followed: base `https://api.onsimapp.com`,
//! `Authorization: Bearer KEY`; accounts keyed by MPN (E.164 digits without
//! `+`); ICCIDs of 19 digits (the printed check digit dropped; the client
//! converts printed ICCIDs, the sandbox refuses 20-digit ones); provisioning
//! answers `{esim_code, iccid: "ONSIM<iccid>", pbx_password}`; switches are
//! `ON`/`OFF`; home locations ISO alpha-3; `IN PROGRESS` (with its space,
//! percent-encoded) is a port state.
//!
//! Where the reference contradicts itself, every documented form is read:
//! - `GET /account/{mpn}`: `account` is documented as an array and shown as
//!   an object. The sandbox answers an array for even `i_account`s and an
//!   object for odd ones, so both paths are exercised.
//! - `GET /port/all/{state}`: documented as `portQueue`, shown as
//!   `{"port": [...]}`; both keys, an array or one object. The sandbox sends
//!   `port` with an array.
//! - `GET /port/{id}`: documented as `{"port": {...}}`, shown bare; both are
//!   read. The sandbox sends it bare.
//! - `trID`, `resellerId`, `i_account` and `refresh_code` may be strings or
//!   numbers; data amounts may be numbers, numeric strings or `null`.
//!
//! Assumptions where nothing is published (mirrored by the sandbox):
//! - Errors: `{"error": {"code": "ACCOUNT_NOT_FOUND", "message": "..."}}`
//!   with 400 (malformed or invalid input), 401 (missing or wrong key),
//!   404 (no such account, SIM or port), 409 (duplicate, or number/SIM
//!   already active) and 422 (number or SIM not held by the reseller, no
//!   such group). The client maps 401/403 to `Unauthorized`, 404 to
//!   `NotFound`, other 4xx to `Provider { status, code, detail }` (or
//!   `Rejected` when the body is not in this shape), 429/5xx through the
//!   shared classification.
//! - Rate limits: the reference lists 429 beside 200 on some calls; a 429
//!   or 503 is retried after its `Retry-After` (seconds) by the shared
//!   retry policy, and reported as `RateLimited`/`Unavailable` after that.
//! - List answers: `{"numbers": [{"mpn", "state"}]}`,
//!   `{"sims": [{"iccid" (19 digits), "type": "eSIM"|"pSIM", "state", "mpn"}]}`,
//!   `{"groups": [<the fields groups are added with>]}` and
//!   `{"subscribers": [{"mpn", "iccid", "i_account", "state", "group",
//!   "is_recorded", "first_name", "last_name", "email"}]}`.
//! - Catalogue: `{"catalogue": {"products": [{"id": 18, "name",
//!   "description"}], "bundles": [{"sku": "2GB", "name", "allowance": 2048,
//!   "unit": "megabyte"}]}}`; an unlimited bundle's `allowance` is `null`.
//!   Bundle amounts are MB with 1 GB = 1024 MB (ONSIM's `10GB` is 10240).
//! - Writes that return "no data" answer `{"message": "..."}`, which is not
//!   relied on; `POST /numbers/{mpn}` answers 201.
//! - `POST /account/esim/generate` answers a JSON string (plain text is
//!   accepted too). `/account/esim` answers `refresh_code: null` when no
//!   refresh was asked, `"esim code refreshed"` when one was actioned and
//!   `"error"` when the eSIM is already installed (the code is unchanged).
//! - Provisioning a physical SIM answers `esim_code: null`. Lines on their
//!   own UC start on the `BASE` bundle; lines on ONSIM UC on their
//!   `mobile_data` bundle. The SIP username is the `pbx_user` asked for,
//!   else `ONSIM<iccid>`.
//! - `POST /reseller/subscribers` takes every field as a filter;
//!   `is_recorded` matches subscribers with voice or SMS recording on, and
//!   `state` (always sent; `PROVISIONED` when not given, the only documented
//!   value) matches nothing else.
//! - Ceasing removes the account and the SIM; the number is quarantined
//!   (listed neither ACTIVE nor RESERVED, and cannot be added again).
//! - A new `mpn` in mobile settings must be a RESERVED number; the old one
//!   goes back to RESERVED.
//! - Groups' names are unique case-insensitively; their home locations are
//!   limited to `GBR` and `USA` as documented (provisioning also takes `FRA`).

pub mod client;
pub mod transform;
pub mod types;

pub use client::{OnsimClient, OnsimConfig};

/// This provider's entry in simgate's provider table.
pub const DESCRIPTOR: crate::descriptor::ProviderDescriptor =
    crate::descriptor::ProviderDescriptor {
        id: simgate_domain::ProviderId::Onsim,
        kind: crate::descriptor::ProviderKind::Lines,
        name: "ONSIM",
        section: "onsim",
    };
