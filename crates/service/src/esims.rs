//! Operations on a tenant's eSIMs. Each first checks the eSIM belongs to the
//! tenant, then asks the provider that issued it.

use std::sync::Arc;

use simgate_connectors::{Connector, ConnectorError};
use simgate_domain::entities::{EsimFilter, EsimRecord, ListedEsim};
use simgate_domain::{BundleUsage, EsimLocation, Iccid, RevokeOutcome};

use crate::{ServiceError, Services};

impl Services {
    /// A tenant's eSIM with its install details.
    pub async fn esim(&self, tenant_id: &str, iccid: &Iccid) -> Result<EsimRecord, ServiceError> {
        self.store
            .esim_for_tenant(tenant_id, iccid)
            .await?
            .ok_or_else(|| ServiceError::EsimNotFound(iccid.to_string()))
    }

    /// A page of the tenant's eSIMs from simgate's own records, with how
    /// many match in all: no provider is asked.
    pub async fn esims(
        &self,
        tenant_id: &str,
        filter: &EsimFilter,
    ) -> Result<(Vec<ListedEsim>, u64), ServiceError> {
        Ok(self.store.esims_for_tenant(tenant_id, filter).await?)
    }

    async fn issuer(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
    ) -> Result<Arc<dyn Connector>, ServiceError> {
        let esim = self.esim(tenant_id, iccid).await?;
        self.connectors
            .get(esim.provider)
            .ok_or(ServiceError::ProviderNotConfigured(esim.provider))
    }

    /// Live data usage of a tenant's eSIM, from its provider.
    pub async fn usage(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
    ) -> Result<Vec<BundleUsage>, ServiceError> {
        let connector = self.issuer(tenant_id, iccid).await?;
        connector.usage(iccid).await.map_err(ServiceError::upstream)
    }

    /// Revokes a bundle from a tenant's eSIM, optionally refunding it.
    pub async fn revoke(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        bundle: &str,
        refund: bool,
    ) -> Result<RevokeOutcome, ServiceError> {
        let connector = self.issuer(tenant_id, iccid).await?;
        let outcome = connector
            .revoke(iccid, bundle, refund)
            .await
            .map_err(|e| match e {
                ConnectorError::NotFound(_) => ServiceError::BundleNotFound {
                    iccid: iccid.to_string(),
                    bundle: bundle.to_owned(),
                },
                ConnectorError::Rejected {
                    status: 400,
                    message,
                } => ServiceError::RefusedByProvider(message),
                other => ServiceError::upstream(other),
            })?;
        tracing::info!(%iccid, bundle, refund, "bundle revoked");
        Ok(outcome)
    }

    /// The network a tenant's eSIM was last seen on.
    pub async fn location(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
    ) -> Result<EsimLocation, ServiceError> {
        let connector = self.issuer(tenant_id, iccid).await?;
        connector
            .location(iccid)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Sends a text message (1–160 characters) to a tenant's eSIM.
    pub async fn send_sms(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        message: &str,
    ) -> Result<(), ServiceError> {
        let length = message.chars().count();
        if !(1..=160).contains(&length) {
            return Err(ServiceError::InvalidSms(length));
        }
        let connector = self.issuer(tenant_id, iccid).await?;
        connector
            .send_sms(iccid, message)
            .await
            .map_err(ServiceError::upstream)
    }
}
