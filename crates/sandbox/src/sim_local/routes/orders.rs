//! `POST /orders`, `GET /orders`, `GET /orders/{id}` and
//! `POST /orders/{id}/faulty`.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use simgate_connectors::sim_local::types::*;

use crate::sim_local::routes::*;
use crate::sim_local::state::*;
use crate::simulator::Purchase;

/// The documented order fields the client's `Order` does not carry, kept
/// when the request sends them.
const KEPT: [&str; 4] = [
    "payment_details",
    "kyc_details",
    "contact_name",
    "contact_email",
];

/// An order as the document shows it: the client's fields plus the kept
/// ones as they were sent.
fn documented(state: &SimLocalState, id: &str) -> Option<Value> {
    let order = state.orders.get(id)?;
    let mut value = json!(order);
    if let (Some(object), Some(details)) = (value.as_object_mut(), state.details.get(id)) {
        object.extend(details.clone());
    }
    Some(value)
}

#[derive(Debug, Deserialize)]
pub(crate) struct OrderQuery {
    pub(crate) synchronous: Option<bool>,
}

pub(crate) async fn create_order(
    State(sandbox): State<SimLocalSandbox>,
    Query(query): Query<OrderQuery>,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<CreateOrder>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "Malformed order request");
    };
    let sent: Map<String, Value> = serde_json::from_slice(&body).unwrap_or_default();
    let details: Map<String, Value> = KEPT
        .iter()
        .filter_map(|key| sent.get(*key).map(|v| ((*key).to_owned(), v.clone())))
        .collect();
    let (id, sync_wait) = {
        let mut state = sandbox.lock();
        if !state
            .offerings
            .iter()
            .any(|o| o.id == request.item.product_offering_id)
        {
            return problem(StatusCode::BAD_REQUEST, "Unknown product offering");
        }
        if let Some(reference) = &request.external_reference
            && state
                .orders
                .values()
                .any(|o| o.external_reference.as_ref() == Some(reference))
        {
            return problem(
                StatusCode::CONFLICT,
                "An order with this external_reference already exists",
            );
        }
        let id = uuid::Uuid::new_v4().to_string();
        let order_no: String = (0..10)
            .map(|i| {
                if i == 5 {
                    '-'
                } else {
                    char::from(
                        b"abcdefghijkmnopqrstuvwxyz0123456789"[state.rng.random_range(0..35)],
                    )
                }
            })
            .collect();
        state.orders.insert(
            id.clone(),
            Order {
                id: id.clone(),
                order_no,
                external_reference: request.external_reference.clone(),
                status: WALK[0].to_owned(),
                item: OrderItem {
                    product_offering_id: request.item.product_offering_id.clone(),
                    iccid: None,
                    smdp_address: None,
                    matching_id: None,
                    activation_code: None,
                },
                locale: request.locale.clone(),
            },
        );
        state.details.insert(id.clone(), details);
        state.purchases += 1;
        let purchase = Purchase::now(
            id.clone(),
            request.external_reference.clone(),
            request.item.product_offering_id.clone(),
            1,
        );
        state.sold.push(purchase);
        (id, state.config.sync_wait)
    };
    sandbox.walk(id.clone());
    if query.synchronous == Some(true) {
        let deadline = Instant::now() + sync_wait;
        while Instant::now() < deadline {
            let done = sandbox
                .lock()
                .orders
                .get(&id)
                .is_some_and(|o| matches!(o.status.as_str(), "COMPLETED" | "FAILED"));
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let order = documented(&sandbox.lock(), &id);
    match order {
        Some(order) => Json(order).into_response(),
        None => problem(StatusCode::INTERNAL_SERVER_ERROR, "Order vanished"),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    pub(crate) external_reference: Option<String>,
}

pub(crate) async fn search_orders(
    State(sandbox): State<SimLocalSandbox>,
    Query(query): Query<SearchQuery>,
) -> Response {
    let Some(reference) = query.external_reference else {
        return problem(StatusCode::BAD_REQUEST, "external_reference is required");
    };
    let state = sandbox.lock();
    let content: Vec<Value> = state
        .orders
        .values()
        .filter(|o| state.loose_search || o.external_reference.as_ref() == Some(&reference))
        .filter_map(|o| documented(&state, &o.id))
        .collect();
    let total = content.len();
    let pages = usize::from(total > 0);
    // Spring's page, with both the camelCase and the snake_case counts the
    // document's example shows side by side.
    Json(json!({
        "content": content,
        "totalPages": pages,
        "totalElements": total,
        "pageable": {"pageNumber": 0, "pageSize": 20, "offset": 0, "paged": true, "unpaged": false},
        "last": true,
        "total_pages": pages,
        "sort": {"sorted": false, "unsorted": true, "empty": true},
        "first": true,
        "number_of_elements": total,
        "empty": total == 0,
    }))
    .into_response()
}

pub(crate) async fn get_order(
    State(sandbox): State<SimLocalSandbox>,
    Path(id): Path<String>,
) -> Response {
    match documented(&sandbox.lock(), &id) {
        Some(order) => Json(order).into_response(),
        None => problem(StatusCode::NOT_FOUND, "Order not found"),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct FaultyQuery {
    pub(crate) reason: Option<String>,
    pub(crate) note: Option<String>,
}

pub(crate) async fn report_faulty(
    State(sandbox): State<SimLocalSandbox>,
    Path(id): Path<String>,
    Query(query): Query<FaultyQuery>,
) -> Response {
    let Some(reason) = query
        .reason
        .filter(|r| FAULTY_REASONS.contains(&r.as_str()))
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "reason must be one of the faulty reasons",
        );
    };
    let mut state = sandbox.lock();
    let Some(order) = state.orders.get(&id).cloned() else {
        return problem(StatusCode::NOT_FOUND, "Order not found");
    };
    if order.status != "COMPLETED" {
        return problem(
            StatusCode::BAD_REQUEST,
            "Only COMPLETED orders can be reported as faulty",
        );
    }
    state.faulty.insert(id.clone(), (reason, query.note));
    Json(documented(&state, &id).unwrap_or_else(|| json!(order))).into_response()
}
