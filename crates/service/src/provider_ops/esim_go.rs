//! eSIM Go's own operations: inventory, eSIM history, refresh and
//! compatibility, applying inventory, revoking one assignment, the
//! organisation's eSIMs, balance and groups, and networks per country.

use std::future::Future;
use std::sync::Arc;

use simgate_connectors::esim_go::types::{
    ApplyBundle, ApplyResponse, Assignment, BalanceTopUp, BundleGroup, CompatibilityAnswer,
    CountryNetworks, EsimList, HistoryEntry, Inventory, InventoryRefund, Organisation, UpdateEsim,
};
use simgate_connectors::esim_go::{EsimGoClient, RevokeMode};
use simgate_connectors::{Connector, ConnectorError, metered};
use simgate_domain::{CountryCode, Iccid, ProviderId};

use crate::{ServiceError, Services};

const PROVIDER: ProviderId = ProviderId::EsimGo;

/// eSIM Go's operations, over its configured connector.
pub struct EsimGoOps<'a> {
    services: &'a Services,
    connector: Arc<dyn Connector>,
}

impl Services {
    /// eSIM Go's own operations; `provider_not_configured` without it.
    pub fn esim_go(&self) -> Result<EsimGoOps<'_>, ServiceError> {
        let connector = self
            .connectors
            .get(PROVIDER)
            .ok_or(ServiceError::ProviderNotConfigured(PROVIDER))?;
        Ok(EsimGoOps {
            services: self,
            connector,
        })
    }
}

impl EsimGoOps<'_> {
    /// The eSIM Go client behind the registry's connector.
    fn client(&self) -> Result<&EsimGoClient, ServiceError> {
        self.connector
            .extras()
            .downcast_ref::<EsimGoClient>()
            .ok_or(ServiceError::ProviderNotConfigured(PROVIDER))
    }

    /// One measured call, which feeds eSIM Go's circuit like every other
    /// call to it. What eSIM Go refuses for the request's sake (an
    /// unknown lot or assignment, an empty inventory) is the caller's to
    /// fix, so it is told as such; every other failure maps like any other.
    async fn call<R>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<R, ConnectorError>>,
    ) -> Result<R, ServiceError> {
        metered::measured(self.services.connectors.health(), PROVIDER, operation, call)
            .await
            .map_err(|e| match e {
                ConnectorError::NotFound(message) => ServiceError::NotFoundAtProvider(message),
                ConnectorError::Rejected {
                    status: 400 | 403 | 409 | 422,
                    message,
                } => ServiceError::RefusedByProvider(message),
                other => ServiceError::upstream(other),
            })
    }

    /// Checks the tenant holds this eSIM and that it is an eSIM Go one:
    /// anything else is not found here.
    async fn owned(&self, tenant_id: &str, iccid: &Iccid) -> Result<&EsimGoClient, ServiceError> {
        let esim = self.services.esim(tenant_id, iccid).await?;
        if esim.provider != PROVIDER {
            return Err(ServiceError::EsimNotFound(iccid.to_string()));
        }
        self.client()
    }

    /// What happened to a tenant's eSIM, as eSIM Go logged it.
    pub async fn history(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
    ) -> Result<Vec<HistoryEntry>, ServiceError> {
        let client = self.owned(tenant_id, iccid).await?;
        self.call("history", client.history(iccid)).await
    }

    /// Refreshes a tenant's eSIM on the network (a cancel-location: the
    /// device reconnects); the provider's message.
    pub async fn refresh(&self, tenant_id: &str, iccid: &Iccid) -> Result<String, ServiceError> {
        let client = self.owned(tenant_id, iccid).await?;
        Ok(self.call("refresh", client.refresh(iccid)).await?.message)
    }

    /// Whether a bundle can be applied to a tenant's eSIM.
    pub async fn compatible(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        bundle: &str,
    ) -> Result<CompatibilityAnswer, ServiceError> {
        let client = self.owned(tenant_id, iccid).await?;
        self.call("compatible", client.compatible(iccid, bundle))
            .await
    }

    /// Applies one bundle from the account's inventory to an eSIM of the
    /// account. The operator's alone: the stock was bought with the
    /// operator's money, so no tenant's ownership is checked here and no
    /// tenant is charged.
    pub async fn apply(&self, iccid: &Iccid, bundle: &str) -> Result<ApplyResponse, ServiceError> {
        let request = ApplyBundle {
            iccid: Some(iccid.to_string()),
            bundle: Some(bundle.to_owned()),
            ..ApplyBundle::default()
        };
        self.call("apply_bundle", self.client()?.apply_bundle(&request))
            .await
    }

    /// Every assignment of a bundle on a tenant's eSIM, to pick one to revoke.
    pub async fn assignments(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        bundle: &str,
    ) -> Result<Vec<Assignment>, ServiceError> {
        let client = self.owned(tenant_id, iccid).await?;
        Ok(self
            .call("bundle_status", client.bundle_status(iccid, bundle))
            .await?
            .assignments)
    }

    /// Revokes one specific assignment of a bundle from a tenant's eSIM (the
    /// unified revoke takes the latest); the provider's status.
    pub async fn revoke_assignment(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        bundle: &str,
        assignment_id: &str,
    ) -> Result<String, ServiceError> {
        let client = self.owned(tenant_id, iccid).await?;
        let call = client.revoke_assignment(iccid, bundle, assignment_id, RevokeMode::Transaction);
        Ok(self.call("revoke_assignment", call).await?.status)
    }

    /// Sets the customer reference eSIM Go keeps on a tenant's eSIM.
    pub async fn set_customer_ref(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        customer_ref: &str,
    ) -> Result<String, ServiceError> {
        let client = self.owned(tenant_id, iccid).await?;
        let update = UpdateEsim {
            iccid: iccid.to_string(),
            customer_ref: customer_ref.to_owned(),
        };
        Ok(self
            .call("update_esim", client.update_esim(&update))
            .await?
            .message)
    }

    /// One page of every eSIM of the account, all tenants' and unsold ones
    /// (operator only).
    pub async fn esims(&self, page: u32, per_page: u32) -> Result<EsimList, ServiceError> {
        self.call("esims", self.client()?.esims(page, per_page))
            .await
    }

    /// Bundles the account bought and has not applied (operator only).
    pub async fn inventory(&self) -> Result<Inventory, ServiceError> {
        self.call("inventory", self.client()?.inventory()).await
    }

    /// Returns unused inventory to the account's balance (operator only).
    pub async fn refund_inventory(
        &self,
        usage_id: i64,
        quantity: i64,
    ) -> Result<String, ServiceError> {
        let refund = InventoryRefund { usage_id, quantity };
        Ok(self
            .call("refund_inventory", self.client()?.refund_inventory(&refund))
            .await?
            .message)
    }

    /// The account's organisation: balance, currency, users (operator only).
    pub async fn organisation(&self) -> Result<Organisation, ServiceError> {
        let answer = self
            .call("organisation", self.client()?.organisation())
            .await?;
        answer.organisations.into_iter().next().ok_or_else(|| {
            ServiceError::upstream(ConnectorError::InvalidResponse(
                "no organisation in the answer".to_owned(),
            ))
        })
    }

    /// Adds `amount` (whole units of the account's currency) to the
    /// prepaid balance (operator only).
    pub async fn top_up_balance(&self, amount: u64) -> Result<BalanceTopUp, ServiceError> {
        self.call("top_up_balance", self.client()?.top_up_balance(amount))
            .await
    }

    /// The bundle groups the account may sell (operator only).
    pub async fn groups(&self) -> Result<Vec<BundleGroup>, ServiceError> {
        Ok(self.call("groups", self.client()?.groups()).await?.groups)
    }

    /// The networks eSIM Go uses in a country: public information.
    pub async fn networks(
        &self,
        country: &CountryCode,
    ) -> Result<Vec<CountryNetworks>, ServiceError> {
        let iso = country.to_string();
        let answer = self
            .call("networks", self.client()?.networks(&[&iso], false))
            .await?;
        Ok(answer.country_networks)
    }
}
