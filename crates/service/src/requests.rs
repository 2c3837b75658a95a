//! Use cases the API serves directly: who an API key belongs to, catalogue
//! search, the provider list, a tenant's endpoints and events, and whether
//! storage answers. They keep the API off the store: it asks the service,
//! which alone decides how the answer is read.

use chrono::{DateTime, Utc};
use simgate_domain::entities::{Delivery, Endpoint, ProductFilter, RepositoryError, StoredEvent};
use simgate_domain::orchestration::HealthSnapshot;
use simgate_domain::{Capability, EndpointId, EventId, Product, ProductId, ProviderId, TenantId};

use crate::{ServiceError, Services};

/// A configured provider, what it can do, and its local catalogue.
#[derive(Debug, Clone)]
pub struct ProviderSummary {
    /// Which provider.
    pub id: ProviderId,
    /// What its configured connectors can do.
    pub capabilities: Vec<Capability>,
    /// Products in its last catalogue sync, with when that was; `None`
    /// before the first sync.
    pub last_sync: Option<(DateTime<Utc>, u64)>,
    /// Its recent calls and circuit, as this instance saw them.
    pub health: HealthSnapshot,
}

/// An event with where it was delivered.
#[derive(Debug, Clone)]
pub struct EventWithDeliveries {
    /// The event as stored.
    pub event: StoredEvent,
    /// Its delivery to each of the tenant's endpoints.
    pub deliveries: Vec<Delivery>,
}

impl Services {
    /// Searches the local catalogue: the products on this page and how
    /// many match in all. Answered from this instance's in-memory index
    /// once built (from the store before that).
    pub async fn search_products(
        &self,
        filter: &ProductFilter,
    ) -> Result<(Vec<Product>, u64), ServiceError> {
        match self.catalogue_index() {
            Some(index) => Ok(index.search(filter)),
            None => Ok(self.store.search_products(filter).await?),
        }
    }

    /// One active product of the local catalogue, from the in-memory index
    /// once built. A product the index lacks is looked up in the store:
    /// another instance's sync reaches the index only within a second, and
    /// an order for a product that sync just added must not be refused
    /// meanwhile (a miss is rare: a stale index or a client's unknown id).
    pub async fn product(&self, id: &ProductId) -> Result<Option<Product>, ServiceError> {
        if let Some(product) = self.catalogue_index().and_then(|index| index.product(id)) {
            return Ok(Some(product));
        }
        Ok(self.store.product(id).await?)
    }

    /// The configured providers, their capabilities, catalogue sizes and
    /// health: the catalogue this instance searches (its in-memory index
    /// once built), so that a listed sync is one its searches already see.
    pub async fn providers(&self) -> Result<Vec<ProviderSummary>, ServiceError> {
        let index = self.catalogue_index();
        let mut providers = Vec::new();
        for (id, capabilities) in self.connectors.capabilities() {
            let last_sync = match &index {
                Some(index) => index.last_sync(id),
                None => self.store.last_catalogue_sync(id).await?,
            };
            providers.push(ProviderSummary {
                id,
                capabilities,
                last_sync,
                health: self.provider_health(id),
            });
        }
        Ok(providers)
    }

    /// A tenant's webhook endpoints.
    pub async fn endpoints(&self, tenant_id: &str) -> Result<Vec<Endpoint>, ServiceError> {
        Ok(self.store.endpoints_for_tenant(tenant_id).await?)
    }

    /// Stops sending events to a tenant's endpoint. `false` when the tenant
    /// has no such endpoint: another tenant's is never touched.
    pub async fn remove_endpoint(
        &self,
        tenant_id: &TenantId,
        id: &EndpointId,
    ) -> Result<bool, ServiceError> {
        match self.store.endpoint(id.as_str()).await? {
            Some(endpoint) if endpoint.tenant_id == tenant_id.as_str() => {
                self.store
                    .disable_endpoint(id.as_str(), "removed by its owner")
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// A page of a tenant's events, newest first, older than `before`,
    /// each with its deliveries.
    pub async fn events_page(
        &self,
        tenant_id: &TenantId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventWithDeliveries>, ServiceError> {
        let events = self
            .store
            .events_for_tenant(tenant_id.as_str(), before, limit)
            .await?;
        let mut page = Vec::with_capacity(events.len());
        for event in events {
            page.push(self.with_deliveries(event).await?);
        }
        Ok(page)
    }

    /// One of a tenant's events with its deliveries.
    pub async fn event_with_deliveries(
        &self,
        tenant_id: &TenantId,
        id: &EventId,
    ) -> Result<EventWithDeliveries, ServiceError> {
        let event = self.event(tenant_id, id).await?;
        self.with_deliveries(event).await
    }

    pub(crate) async fn with_deliveries(
        &self,
        event: StoredEvent,
    ) -> Result<EventWithDeliveries, ServiceError> {
        let deliveries = self.store.deliveries_of(&event.id).await?;
        Ok(EventWithDeliveries { event, deliveries })
    }

    /// Whether the database answers, for health and readiness checks.
    pub async fn check_storage(&self) -> Result<(), RepositoryError> {
        self.store.ping().await
    }
}
