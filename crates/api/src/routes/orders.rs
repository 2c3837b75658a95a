//! `POST /v1/orders` and `GET /v1/orders/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use simgate_domain::{OrderId, OrderKind, ProductId};
use simgate_service::OrderRequest;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::routes::idempotency_key;
use crate::views::{CreateOrder, OrderView};

/// Orders new eSIMs. The order is stored before the provider is called;
/// with an `Idempotency-Key`, repeating the request returns the same order
/// (200, `Idempotent-Replayed: true`) and reusing the key for a different
/// request is refused (409).
#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = CreateOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, body = OrderView, description = "Order placed"),
        (status = 200, body = OrderView, description = "Replay of an earlier request with the same key"),
        (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem), (status = 504, body = Problem)))]
pub async fn create_order(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateOrder>,
) -> Result<Response, ApiError> {
    let request = OrderRequest {
        tenant_id: tenant.id,
        product_id: ProductId::parse(&body.product_id)?,
        quantity: body.quantity,
        kind: OrderKind::NewEsim,
        idempotency_key: idempotency_key(&headers)?,
    };
    respond(state.services.place_order(request).await?)
}

/// Turns a placed order into 201 (new) or 200 (replayed).
pub(crate) fn respond(outcome: simgate_service::PlaceOutcome) -> Result<Response, ApiError> {
    let location = format!("/v1/orders/{}", outcome.order.id);
    let status = if outcome.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(OrderView::from(outcome.order))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if outcome.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// One of the tenant's orders.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders",
    params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)))]
pub async fn get_order(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.services.order(&tenant.id, &OrderId(id)).await?;
    Ok(Json(order.into()))
}
