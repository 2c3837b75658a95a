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
use simgate_connectors::sim_local::types::*;

use crate::sim_local::routes::*;
use crate::sim_local::state::*;
use crate::simulator::Purchase;

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
    let order = sandbox.lock().orders.get(&id).cloned();
    match order {
        Some(order) => (StatusCode::CREATED, Json(order)).into_response(),
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
    let content: Vec<Order> = sandbox
        .lock()
        .orders
        .values()
        .filter(|o| o.external_reference.as_ref() == Some(&reference))
        .cloned()
        .collect();
    let total = content.len() as u64;
    Json(OrderPage {
        empty: content.is_empty(),
        content,
        total_pages: u32::from(total > 0),
        total_elements: total,
        last: true,
        first: true,
    })
    .into_response()
}

pub(crate) async fn get_order(
    State(sandbox): State<SimLocalSandbox>,
    Path(id): Path<String>,
) -> Response {
    match sandbox.lock().orders.get(&id) {
        Some(order) => Json(order.clone()).into_response(),
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
    state.faulty.insert(id, (reason, query.note));
    Json(order).into_response()
}
