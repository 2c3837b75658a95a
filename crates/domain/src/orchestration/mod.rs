//! The pure core of orchestration: one offer across providers, money across
//! currencies, per-tenant pricing, routing, provider health and safe failover.
//!
//! Everything here is I/O-free and reads no clock: time, random draws, FX
//! rates and health are passed in. That keeps every decision reproducible in
//! tests and lets the service layer decide where state lives (per instance or
//! in the database) without changing the rules.

pub mod attempt;
pub mod fx;
pub mod health;
pub mod offer;
pub mod pricing;
pub mod routing;

pub use attempt::{
    AttemptEvent, AttemptOutcome, AttemptState, InvalidAttemptTransition, NothingReason,
    ReconcileOutcome, UncertainReason,
};
pub use fx::{Converted, FxError, FxRate, FxTable, compare_converted};
pub use health::{
    Admission, CallOutcome, CircuitState, HealthConfig, HealthConfigError, HealthSnapshot,
    ProviderHealth,
};
pub use offer::{
    InvalidOfferId, Offer, OfferCandidate, OfferId, OfferKey, canonical_data_mb, group_offers,
};
pub use pricing::{
    OverrideTarget, PriceContext, PriceQuote, PricingError, PricingOverride, PricingRules, RoundTo,
};
pub use routing::{
    Basis, CountryRouting, RouteCandidate, RouteExplanation, RoutePlan, RoutingError,
    RoutingPolicy, RoutingStrategy, Skip, Verdict, plan,
};
