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
//!
//! Where it follows the document (`001_ec9b7c81cead4262.txt`, checked by
//! `tests/conformance.rs` against `tests/fixtures/esim-go/`), and the
//! choices made where the document is silent or contradicts itself:
//! - Bodies whose names matter are written out with the document's names
//!   (not through the client's types), so one wrong name cannot pass both
//!   sides: `GET /organisation` (all 19 fields), `POST /organisation/balance`
//!   (`{amount, balance, ref}`), `GET /organisation/groups` (a bare list),
//!   `GET /esims/{iccid}/compatible/{bundle}` (`{message}`), `GET /esims`,
//!   `GET /orders` and `GET /orders/{reference}`.
//! - Orders: the creation answer says `createdDate` (the live answer of
//!   `providers.md`; the document's example is empty), the list and the
//!   detail say `createDate` (the document's examples); list lines carry
//!   `invoiceLink`. Lines keep `esims` and `iccids`, which the document's
//!   examples lack, because the client needs them: reconciliation reads
//!   the ICCIDs of an order whose answer was lost off `GET /orders`.
//! - `GET /esims` keeps `pageCount` and `rows` beyond the document's
//!   example, so a caller can page to the end; `filterBy`/`filter` match a
//!   documented column case-insensitively, `orderBy`/`direction` order it.
//! - Auth: 401 with an empty text body for `POST /orders` and
//!   `GET /networks`, the only operations the document gives a 401; 403
//!   with `{"message"}` for every other one.
//! - `/esims/assignments` answers CSV by default, JSON or a ZIP of QR PNGs
//!   by `Accept`; the deprecated `GET /esims/qr/{reference}` (ZIP),
//!   `GET /esims/csv/{reference}` (CSV), `POST /esims/{iccid}/bundles`
//!   (apply one bundle from inventory, `{status}`) and
//!   `DELETE /esims/{iccid}/bundles/{name}/applications/{id}` (as its
//!   successor under `assignments/`) are served.
//! - `GET /` lists the API's endpoints as strings; `GET /networks` has no
//!   documented shape (its example is `null`) and keeps the live one.

mod routes;
mod sized;
mod state;

pub use state::{EsimGoSandbox, SANDBOX_SMDP, SandboxConfig};
