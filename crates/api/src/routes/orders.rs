//! `POST /v1/orders`, `GET /v1/orders/{id}` and faulty reports on an order.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use simgate_domain::orchestration::OfferId;
use simgate_domain::{OrderId, OrderKind, OrderStatus, ProductId};
use simgate_service::limits::Budget;
use simgate_service::{OrderRequest, OrderTarget};
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{ApiError, Problem};
use crate::routes::{idempotency_key, required_text};
use crate::views::{CreateOrder, FaultyReasons, OrderPage, OrderView, ReportFaulty};

/// Orders new eSIMs. The order is stored before the provider is called;
/// with an `Idempotency-Key`, repeating the request returns the same order
/// (200, `Idempotent-Replayed: true`) and reusing the key for a different
/// request is refused (409).
#[utoipa::path(post, operation_id = "createOrder", path = "/v1/orders", tag = "orders", request_body = CreateOrder,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[\x21-\x7e]{1,255}$", description = "Makes retries safe"), WaitQuery),
    responses(
        (status = 201, body = OrderView, description = "Order placed"),
        (status = 200, body = OrderView, description = "Replay of an earlier request with the same key"),
        (status = 402, body = Problem, description = "`insufficient_funds`: the account cannot cover the sale; nothing was sent upstream"),
        (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem, description = "`rate_limited`: over the order budget, or (with `wait`) as many requests of this account already wait (`Retry-After: 1`); nothing was placed"),
        (status = 502, body = Problem), (status = 503, body = Problem), (status = 504, body = Problem)))]
pub async fn create_order(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<WaitQuery>,
    ApiJson(body): ApiJson<CreateOrder>,
) -> Result<Response, ApiError> {
    let wait = query.wait.as_deref().map(parse_wait).transpose()?;
    // Held until the answer; taken first, so that a refused wait buys nothing.
    let _waiting = wait
        .map(|_| state.services.admit_waiting(&tenant.id))
        .transpose()?;
    let target = match (&body.product_id, &body.offer_id) {
        (Some(product), None) => OrderTarget::Product(ProductId::parse(product)?),
        (None, Some(offer)) => OrderTarget::Offer(OfferId::parse(offer).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
        })?),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "product_or_offer_required",
                "give exactly one of product_id (pins one provider) and offer_id (simgate chooses)",
            ));
        }
    };
    let request = OrderRequest {
        tenant_id: tenant.id,
        target,
        quantity: body.quantity,
        kind: OrderKind::NewEsim,
        idempotency_key: idempotency_key(&headers)?,
    };
    state
        .services
        .spend(&request.tenant_id, Budget::OrderCreations)
        .await?;
    let mut outcome = state.services.place_order(request).await?;
    if let Some(wait) = wait {
        outcome.order = state.services.wait_for_final(outcome.order, wait).await?;
    }
    respond(outcome)
}

/// Longest `?wait=` accepted: beyond it a client should poll instead.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// How long `POST /v1/orders` may wait for the order to finish.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Wait up to this long for a final status: `30s`, `500ms`, `1m` or
    /// plain seconds; at most 60 s. Without it the order returns at once.
    /// At most `[limits] max_waiting_requests` of an account's requests
    /// wait at once on one instance.
    #[param(
        pattern = r"^((60000|[1-5]?[0-9]{1,4})ms|(60|[1-5]?[0-9])s?|[01]m)$",
        example = "30s"
    )]
    wait: Option<String>,
}

/// Parses `30s`, `500ms`, `1m` or `30`.
fn parse_wait(raw: &str) -> Result<Duration, ApiError> {
    let raw = raw.trim();
    let (number, unit) = raw
        .find(|c: char| !c.is_ascii_digit())
        .map_or((raw, "s"), |at| raw.split_at(at));
    let bad = || {
        ApiError::bad_request(
            "invalid_query",
            format!("wait '{raw}' is not a duration like 30s, 500ms or 1m"),
        )
    };
    let value: u64 = number.parse().map_err(|_| bad())?;
    let wait = match unit {
        "ms" => Duration::from_millis(value),
        "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        _ => return Err(bad()),
    };
    if wait > MAX_WAIT {
        return Err(ApiError::bad_request(
            "invalid_query",
            "wait may be at most 60s",
        ));
    }
    Ok(wait)
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

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// Order list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    /// Only orders in this status.
    status: Option<OrderStatus>,
    /// Only orders older than this order id (from `next_before`).
    before: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// The tenant's orders, newest first.
#[utoipa::path(get, operation_id = "listOrders", path = "/v1/orders", tag = "orders", params(OrderQuery),
    responses((status = 200, body = OrderPage), (status = 400, body = Problem)))]
pub async fn list_orders(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<Json<OrderPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let before = query.before.map(OrderId);
    let orders = state
        .services
        .orders(&tenant.id, query.status, before.as_ref(), limit)
        .await?;
    let next_before = (orders.len() == limit as usize)
        .then(|| orders.last().map(|o| o.id.to_string()))
        .flatten();
    Ok(Json(OrderPage {
        data: orders.into_iter().map(OrderView::from).collect(),
        next_before,
    }))
}

/// One of the tenant's orders.
#[utoipa::path(get, operation_id = "getOrder", path = "/v1/orders/{id}", tag = "orders",
    params(("id" = String, Path, example = "ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b")),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)))]
pub async fn get_order(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.services.order(&tenant.id, &OrderId(id)).await?;
    Ok(Json(order.into()))
}

/// The reasons the order's provider accepts in a faulty report; 501
/// `unsupported_by_provider` where the provider takes none.
#[utoipa::path(get, operation_id = "listFaultyReasons", path = "/v1/orders/{id}/faulty-reasons", tag = "orders",
    params(("id" = String, Path, example = "ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b")),
    responses((status = 200, body = FaultyReasons), (status = 404, body = Problem), (status = 501, body = Problem)))]
pub async fn faulty_reasons(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<Json<FaultyReasons>, ApiError> {
    let data = state
        .services
        .faulty_reasons(&tenant.id, &OrderId(id))
        .await?;
    Ok(Json(FaultyReasons { data }))
}

/// Tells the order's provider that the order, delivered, does not work.
/// Only a completed order; 501 `unsupported_by_provider` where the
/// provider takes no reports.
#[utoipa::path(post, operation_id = "reportFaultyOrder", path = "/v1/orders/{id}/faulty", tag = "orders", request_body = ReportFaulty,
    params(("id" = String, Path, example = "ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b")),
    responses((status = 204, description = "The provider took the report"), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 501, body = Problem)))]
pub async fn report_faulty(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReportFaulty>,
) -> Result<StatusCode, ApiError> {
    let reason = required_text(Some(body.reason), "reason")?;
    let description = body.description.filter(|d| !d.trim().is_empty());
    state
        .services
        .report_faulty(&tenant.id, &OrderId(id), &reason, description.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
