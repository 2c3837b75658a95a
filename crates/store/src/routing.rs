//! Each tenant's routing policy, stored as validated JSON.

use simgate_domain::TenantId;
use simgate_domain::entities::RepositoryError;
use simgate_domain::orchestration::RoutingPolicy;
use simgate_domain::repository::RoutingRepository;

use crate::Store;
use crate::tenant_documents::TenantDocument;

#[async_trait::async_trait]
impl RoutingRepository for Store {
    async fn routing_policy(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<RoutingPolicy>, RepositoryError> {
        self.tenant_document(TenantDocument::Routing, tenant).await
    }

    async fn put_routing_policy(
        &self,
        tenant: &TenantId,
        policy: &RoutingPolicy,
    ) -> Result<(), RepositoryError> {
        self.put_tenant_document(TenantDocument::Routing, tenant, policy)
            .await
    }
}
