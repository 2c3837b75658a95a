//! Faulty reports: a tenant tells the provider that an order it delivered
//! does not work. Only some providers take them
//! ([`Capability::FaultyReports`]); the others answer "unsupported".

use std::sync::Arc;

use simgate_connectors::{Connector, ConnectorError};
use simgate_domain::entities::OrderRecord;
use simgate_domain::{Capability, OrderId, OrderStatus};

use crate::{ServiceError, Services};

/// Longest description passed on with a report.
pub const MAX_FAULTY_DESCRIPTION: usize = 500;

impl Services {
    /// The tenant's order and its provider, which must take faulty reports.
    async fn reportable(
        &self,
        tenant_id: &str,
        id: &OrderId,
    ) -> Result<(OrderRecord, Arc<dyn Connector>), ServiceError> {
        let order = self.order(tenant_id, id).await?;
        let connector = self
            .connectors
            .get(order.provider())
            .ok_or(ServiceError::ProviderNotConfigured(order.provider()))?;
        if !connector
            .capabilities()
            .contains(&Capability::FaultyReports)
        {
            return Err(ServiceError::upstream(ConnectorError::Unsupported(
                Capability::FaultyReports,
            )));
        }
        Ok((order, connector))
    }

    /// The reasons the provider of a tenant's order accepts in a report.
    pub async fn faulty_reasons(
        &self,
        tenant_id: &str,
        id: &OrderId,
    ) -> Result<Vec<String>, ServiceError> {
        let (_, connector) = self.reportable(tenant_id, id).await?;
        connector
            .faulty_reasons()
            .await
            .map_err(ServiceError::upstream)
    }

    /// Reports a tenant's completed order as faulty to its provider, for one
    /// of the provider's reasons (checked first, so a wrong one is the
    /// client's mistake, not the provider's refusal).
    pub async fn report_faulty(
        &self,
        tenant_id: &str,
        id: &OrderId,
        reason: &str,
        description: Option<&str>,
    ) -> Result<(), ServiceError> {
        if description.is_some_and(|d| d.chars().count() > MAX_FAULTY_DESCRIPTION) {
            return Err(ServiceError::InvalidFaultyReport(format!(
                "description may be at most {MAX_FAULTY_DESCRIPTION} characters"
            )));
        }
        let (order, connector) = self.reportable(tenant_id, id).await?;
        let reference = order
            .upstream_ref
            .as_deref()
            .filter(|_| order.status == OrderStatus::Completed)
            .ok_or_else(|| ServiceError::OrderNotCompleted(id.to_string()))?;
        let reasons = connector
            .faulty_reasons()
            .await
            .map_err(ServiceError::upstream)?;
        if !reasons.iter().any(|r| r == reason) {
            return Err(ServiceError::InvalidFaultyReport(format!(
                "reason '{reason}' is not one of {}",
                reasons.join(", ")
            )));
        }
        connector
            .report_faulty(reference, reason, description)
            .await
            .map_err(ServiceError::upstream)
    }
}
