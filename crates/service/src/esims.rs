//! Operations on a tenant's eSIMs. Each first checks the eSIM belongs to the
//! tenant, then asks the provider that issued it.
//!
//! The eSIMs read recently are remembered ([`EsimCache`]), so that install
//! details, QR codes and every provider call on an eSIM (usage, location,
//! SMS, revoke) do not each cost a database round trip. What is trusted
//! from memory, and for how long, follows what can change in a stored eSIM:
//! - its owner (tenant), provider, order and creation time are written once
//!   and never updated (a repeated delivery leaves them alone), so the
//!   ownership check before a provider call uses them however old;
//! - its install details (SM-DP+ address, matching id, confirmation code)
//!   are rewritten when a provider delivers them again, so they are served
//!   from memory for [`INSTALL_DETAILS_TTL`] at most, then read again;
//! - an eSIM not found is never remembered: it may be delivered any moment.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use simgate_connectors::{Connector, ConnectorError};
use simgate_domain::entities::{EsimFilter, EsimRecord, ListedEsim};
use simgate_domain::{BundleUsage, EsimLocation, Iccid, ProviderId, RevokeOutcome};

use crate::bounded::BoundedMap;
use crate::{ServiceError, Services};

/// Most eSIMs remembered at once: a record is a few hundred bytes, so the
/// cache stays within a few megabytes.
const MAX_CACHED_ESIMS: usize = 10_000;

/// How long install details read from the store are served from memory: how
/// late a provider's re-delivery of different details may be seen. Reads of
/// one eSIM in a burst (a page showing its details and QR) cost one lookup.
pub const INSTALL_DETAILS_TTL: Duration = Duration::from_secs(5);

/// eSIM records read recently, by ICCID, with when each was read.
pub(crate) struct EsimCache {
    entries: RwLock<BoundedMap<Iccid, (Arc<EsimRecord>, Instant)>>,
}

impl Default for EsimCache {
    fn default() -> Self {
        Self {
            entries: RwLock::new(BoundedMap::new(MAX_CACHED_ESIMS)),
        }
    }
}

impl EsimCache {
    fn get(&self, iccid: &Iccid) -> Option<(Arc<EsimRecord>, Instant)> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(iccid)
            .cloned()
    }

    fn put(&self, record: Arc<EsimRecord>, read_at: Instant) {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(record.install.iccid.clone(), (record, read_at));
    }
}

impl Services {
    /// A tenant's eSIM with its install details, at most
    /// [`INSTALL_DETAILS_TTL`] old.
    pub async fn esim(&self, tenant_id: &str, iccid: &Iccid) -> Result<EsimRecord, ServiceError> {
        match self.esims.get(iccid) {
            Some((record, _)) if record.tenant_id != tenant_id => Err(not_found(iccid)),
            Some((record, read_at)) if read_at.elapsed() < INSTALL_DETAILS_TTL => {
                Ok(EsimRecord::clone(&record))
            }
            _ => {
                let record = self.read_esim(tenant_id, iccid).await?;
                Ok(EsimRecord::clone(&record))
            }
        }
    }

    /// The provider of a tenant's eSIM: the eSIM's owner and provider never
    /// change, so a remembered record answers however old it is.
    async fn esim_provider(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
    ) -> Result<ProviderId, ServiceError> {
        let record = match self.esims.get(iccid) {
            Some((record, _)) => record,
            None => self.read_esim(tenant_id, iccid).await?,
        };
        if record.tenant_id == tenant_id {
            Ok(record.provider)
        } else {
            Err(not_found(iccid))
        }
    }

    /// Reads a tenant's eSIM from the store and remembers it.
    async fn read_esim(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
    ) -> Result<Arc<EsimRecord>, ServiceError> {
        // The read's start dates the record: a re-delivery committed while
        // it ran is at most one TTL late.
        let read_at = Instant::now();
        let record = Arc::new(
            self.store
                .esim_for_tenant(tenant_id, iccid)
                .await?
                .ok_or_else(|| not_found(iccid))?,
        );
        self.esims.put(record.clone(), read_at);
        Ok(record)
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
        let provider = self.esim_provider(tenant_id, iccid).await?;
        self.connectors
            .get(provider)
            .ok_or(ServiceError::ProviderNotConfigured(provider))
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
        if refund {
            // The sale that put the bundle there is refunded to the tenant
            // as the operator's refund policy says.
            match self
                .store
                .order_for_bundle(tenant_id, iccid, bundle)
                .await?
            {
                Some(order) => {
                    self.refund_sale(&order, Some(iccid), outcome.refunded, "revoked")
                        .await?;
                }
                None => {
                    tracing::warn!(%iccid, bundle, "revoked with refund, but no completed order sold this bundle here: nothing to credit");
                }
            }
        }
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

fn not_found(iccid: &Iccid) -> ServiceError {
    ServiceError::EsimNotFound(iccid.to_string())
}
