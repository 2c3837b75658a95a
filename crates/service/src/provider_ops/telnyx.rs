//! Telnyx's SIM card order list with every filter its document lists: the
//! whole account's orders, all tenants', for the operator.

use simgate_domain::{PageRequest, ProviderId, SimOrderFilter, SimOrderPage};

use crate::{ServiceError, Services};

impl Services {
    /// One page of Telnyx's SIM card orders matching `filter`, as Telnyx
    /// lists them (operator only: the account is every tenant's).
    pub async fn telnyx_sim_orders(
        &self,
        filter: &SimOrderFilter,
        page: PageRequest,
    ) -> Result<SimOrderPage, ServiceError> {
        let provider = self
            .connectors
            .sim_orders(Some(ProviderId::Telnyx))
            .ok_or(ServiceError::ProviderNotConfigured(ProviderId::Telnyx))?;
        provider
            .list_sim_orders(filter, page)
            .await
            .map_err(ServiceError::upstream)
    }
}
