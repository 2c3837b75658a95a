//! `GET /v1/providers`: which providers are configured, what each can do,
//! and how its recent calls went.

use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::problem::{ApiError, Problem};
use crate::views::{ProviderList, ProviderView};

/// Lists the configured providers with their capabilities and health.
#[utoipa::path(get, operation_id = "listProviders", path = "/v1/providers", tag = "providers",
    responses((status = 200, body = ProviderList), (status = 401, body = Problem)))]
pub async fn list_providers(
    State(state): State<AppState>,
    _tenant: AuthTenant,
) -> Result<Json<ProviderList>, ApiError> {
    let data = state
        .services
        .providers()
        .await?
        .into_iter()
        .map(|provider| ProviderView {
            id: provider.id.to_string(),
            capabilities: provider.capabilities,
            catalogue_products: provider.last_sync.map_or(0, |(_, n)| n),
            catalogue_synced_at: provider.last_sync.map(|(at, _)| at),
            health: provider.health.into(),
        })
        .collect();
    Ok(Json(ProviderList { data }))
}
