//! `GET /v1/providers`: which providers are configured and what each can do.

use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::problem::{ApiError, Problem};
use crate::views::{ProviderList, ProviderView};

/// Lists the configured providers with their capabilities.
#[utoipa::path(get, operation_id = "listProviders", path = "/v1/providers", tag = "providers",
    responses((status = 200, body = ProviderList), (status = 401, body = Problem)))]
pub async fn list_providers(
    State(state): State<AppState>,
    _tenant: AuthTenant,
) -> Result<Json<ProviderList>, ApiError> {
    let mut data = Vec::new();
    for (provider, capabilities) in state.services.connectors.capabilities() {
        let synced = state.services.store.last_catalogue_sync(provider).await?;
        data.push(ProviderView {
            id: provider.to_string(),
            capabilities,
            catalogue_products: synced.map(|(_, n)| n).unwrap_or(0),
            catalogue_synced_at: synced.map(|(at, _)| at),
        });
    }
    Ok(Json(ProviderList { data }))
}
