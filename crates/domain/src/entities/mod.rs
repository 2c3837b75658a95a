//! The records simgate keeps: what the store writes and reads, what the
//! service works on and what the API shows. They live here, beside the rest
//! of the vocabulary, so that every layer names them without depending on
//! the store that persists them.

mod accounts;
mod balances;
mod catalogue;
mod error;
mod events;
mod lines;
mod orders;
mod purchases;
mod sessions;
mod sim_orders;
mod tenants;
mod webhooks;

pub use accounts::{
    AccountTerms, LowBalance, MarginRow, NewCredit, NewRefund, Posted, RefundOutcome, RefundRecord,
    Statement, TermsRefused,
};
pub use balances::{LedgerPurchase, OPERATOR_OWNER, ProviderBalance, ProviderSpend, StoredBalance};
pub use catalogue::{ProductFilter, ProductSort};
pub use error::RepositoryError;
pub use events::{
    Delivery, DeliveryStatus, Endpoint, PreviousSecret, SealedSecret, StoredEvent, StoredSecret,
};
pub use lines::{LineActivation, LineRecord, LineStatus};
pub use orders::{
    AttemptResult, EsimFilter, EsimRecord, HourlyOrders, InsertOutcome, ListedEsim, Moved,
    NewOrder, OrderAttempt, OrderFailure, OrderQuery, OrderRecord, Recorded, RecordedEvent,
    SalePrice, UpstreamAnswer,
};
pub use purchases::{Lease, UpstreamPurchase};
pub use sessions::ConsoleSession;
pub use sim_orders::{SimOrderAnswer, SimOrderInsert, SimOrderRecord, SimOrderState};
pub use tenants::{Tenant, TenantAccount};
pub use webhooks::{DueWebhook, StoredWebhook};
