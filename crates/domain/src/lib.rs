//! The pure domain of simgate: the vocabulary every provider is mapped into.
//!
//! Nothing here performs I/O. Connectors translate provider wire formats into
//! these types, the store persists them, and the API serialises them. Keeping
//! the rules (validation, state transitions, install-code formats) here means
//! they are checked the same way whichever provider or layer touches them.

pub mod account;
pub mod capability;
pub mod country;
pub mod entities;
pub mod error;
pub mod esim;
pub mod events;
pub mod iccid;
pub mod ids;
pub mod limits;
pub mod line;
pub mod lpa;
pub mod money;
pub mod orchestration;
pub mod order;
pub mod product;
pub mod repository;
pub mod sim_order;

pub use account::{
    Account, AccountMode, Hold, HoldState, LedgerEntry, LedgerKind, OrderHold, RefundPolicy,
    Shortfall,
};
pub use capability::Capability;
pub use country::CountryCode;
pub use error::DomainError;
pub use esim::{BundleState, BundleUsage, EsimLocation, InstallDetails, RevokeOutcome};
pub use events::{
    AccountBalanceEventData, BalanceEventData, EventBody, EventFailure, OrderEventData,
    OutboundEvent, SimOrderEventData, UsageEventData,
};
pub use iccid::Iccid;
pub use ids::{DeliveryId, EndpointId, EventId, TenantId};
pub use line::{
    Group, InventoryState, Line, LineBundle, LineEsim, LineOffer, LineOfferKind, LineRef,
    LineServices, LineSettings, LineUc, Msisdn, PhoneNumber, Port, PortState, ProvisionLine,
    ProvisionedLine, Recording, SimCard, SimKind, Subscriber, SubscriberFilter,
};
pub use lpa::ActivationCode;
pub use money::{Currency, Money};
pub use order::{OrderId, OrderKind, OrderStatus};
pub use product::{DataAllowance, Product, ProductId, ProviderId};
pub use sim_order::{
    NewAddress, PageRequest, ShippingAddress, SimOrder, SimOrderFilter, SimOrderPage,
    SimOrderPreview, SimOrderStatus,
};
