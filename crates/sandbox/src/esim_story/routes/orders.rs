//! The signed order creation.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use simgate_connectors::esim_story::client::DUPLICATE_ORDER;

use crate::esim_story::routes::*;
use crate::esim_story::state::*;
use crate::simulator::Purchase;
use simgate_connectors::esim_story::types::*;

pub(crate) async fn create_order(
    State(sandbox): State<EsimStorySandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (units, delay) = {
        let mut state = sandbox.lock();
        if let Err(message) = authenticate(&state, &headers) {
            return unauthorized(message);
        }
        let Ok(order) = serde_json::from_slice::<OrderRequest>(&body) else {
            return plain(StatusCode::BAD_REQUEST, "Invalid JSON format");
        };
        if order.external_order_id.trim().is_empty() {
            return unprocessable("External order id can't be blank");
        }
        if order.products.is_empty() {
            return unprocessable("Products can't be blank");
        }
        if order.products.iter().any(|p| p.qty == 0) {
            return unprocessable("Qty must be a positive integer");
        }
        if order
            .products
            .iter()
            .any(|p| !state.options.iter().any(|o| o.option_id == p.option_id))
        {
            return unprocessable("Product with option_id not found");
        }
        if state.orders.contains_key(&order.external_order_id) {
            return unprocessable(DUPLICATE_ORDER);
        }
        let mut units = Vec::new();
        for product in &order.products {
            for _ in 0..product.qty {
                match state.mint_unit(&order.external_order_id, &product.option_id) {
                    Ok(unit) => units.push(unit),
                    Err(failed) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &failed),
                }
            }
        }
        let ids: Vec<String> = units.iter().map(|u| u.topup_id.clone()).collect();
        for unit in &units {
            state.units.insert(unit.topup_id.clone(), unit.clone());
        }
        state.orders.insert(order.external_order_id.clone(), ids);
        state.purchases += 1;
        let skus: Vec<&str> = order
            .products
            .iter()
            .map(|p| p.option_id.as_str())
            .collect();
        let purchase = Purchase::now(
            order.external_order_id.clone(),
            Some(order.external_order_id.clone()),
            skus.join("+"),
            order.products.iter().map(|p| p.qty).sum(),
        );
        state.sold.push(purchase);
        (units, state.config.fulfil_after)
    };
    let answer = OrderResponse {
        products: units
            .iter()
            .map(|u| OrderedUnit {
                topup_id: u.topup_id.clone(),
                option_id: u.option_id.clone(),
            })
            .collect(),
    };
    sandbox.deliver_later(units.into_iter().map(|u| u.topup_id).collect(), delay);
    Json(answer).into_response()
}
