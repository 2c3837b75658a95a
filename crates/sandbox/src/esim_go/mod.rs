//! A stateful simulator of the eSIM Go v2.4 API: same paths, bodies, error
//! shapes and auth check as the real one, a generated catalogue of thousands
//! of bundles, eSIMs with valid ICCIDs, data usage, and fault injection.
//!
//! State lives in memory behind one mutex that is never held across an
//! `.await`. Test hooks live under [`ADMIN_PREFIX`](crate::simulator::ADMIN_PREFIX): `GET /__admin/stats`,
//! `GET /__admin/purchases` (every transaction order, see
//! [`crate::simulator::PurchaseList`]; eSIM Go keeps no caller reference)
//! and `POST /__admin/esims/{iccid}/usage {"bytes": n}` (which also sends
//! the signed V3 usage callback, when a callback URL is set), beside the
//! shared `/__admin/faults`.

mod routes;
mod sized;
mod state;

pub use state::{EsimGoSandbox, SANDBOX_SMDP, SandboxConfig};
