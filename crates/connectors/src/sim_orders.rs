//! The interface of providers that ship physical SIM cards (Telnyx).
//!
//! Separate from [`crate::Connector`]: a SIM card order is not a bundle sale,
//! and a provider of one need not pretend to have a catalogue of bundles.

use async_trait::async_trait;
use simgate_domain::{
    NewAddress, PageRequest, ProviderId, ShippingAddress, SimOrder, SimOrderFilter, SimOrderPage,
    SimOrderPreview,
};

use crate::ConnectorError;

/// A provider of physical SIM card orders.
#[async_trait]
pub trait SimCardOrders: Send + Sync {
    /// Which provider this is.
    fn provider(&self) -> ProviderId;

    /// Creates a shipping address; its id is what orders ship to.
    async fn create_address(&self, address: &NewAddress)
    -> Result<ShippingAddress, ConnectorError>;

    /// What an order would cost, without placing it.
    async fn preview_sim_order(
        &self,
        address_id: &str,
        quantity: u32,
    ) -> Result<SimOrderPreview, ConnectorError>;

    /// Places an order for `quantity` SIM cards shipped to `address_id`.
    async fn create_sim_order(
        &self,
        address_id: &str,
        quantity: u32,
    ) -> Result<SimOrder, ConnectorError>;

    /// One order by the provider's id.
    async fn sim_order(&self, id: &str) -> Result<SimOrder, ConnectorError>;

    /// One page of the account's orders matching `filter`.
    async fn list_sim_orders(
        &self,
        filter: &SimOrderFilter,
        page: PageRequest,
    ) -> Result<SimOrderPage, ConnectorError>;
}
