//! What a provider can do, so that clients can discover it instead of guessing.

use serde::{Deserialize, Serialize};

/// One operation a connector may support.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Lists products for the unified catalogue.
    Catalogue,
    /// Sells new eSIMs with a bundle.
    EsimOrders,
    /// Applies a bundle to an existing eSIM.
    TopUps,
    /// Reports remaining data per bundle.
    Usage,
    /// Revokes a bundle, possibly with a refund.
    Revoke,
    /// Lists orders upstream so lost outcomes can be recovered.
    OrderLookup,
    /// Placing the same order (same simgate order id) twice buys once, so
    /// an order whose answer was lost can simply be placed again.
    IdempotentOrders,
    /// Delivers eSIMs or status changes by webhook.
    Webhooks,
    /// Sends SMS to an eSIM.
    Sms,
    /// Reports an eSIM's last network location.
    Location,
    /// Takes reports of a delivered order that does not work, with a reason
    /// from the provider's own list.
    FaultyReports,
    /// Ships physical SIM cards to an address, with a cost preview.
    SimCardOrders,
    /// Provisions and manages subscriber lines (number, SIM, services, bundle).
    SubscriberLines,
    /// Lists and adds the reseller's numbers.
    Numbers,
    /// Looks up number ports.
    Porting,
    /// Manages customer groups of subscribers.
    Groups,
}
