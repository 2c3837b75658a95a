//! The signed order creation.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use simgate_connectors::esim_story::client::DUPLICATE_ORDER;

use crate::esim_story::routes::*;
use crate::esim_story::state::*;
use crate::simulator::{Purchase, qr_png};
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
        let Ok(raw) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return plain(StatusCode::BAD_REQUEST, "Invalid JSON format");
        };
        if let Some(message) = invalid(&raw) {
            return unprocessable(message);
        }
        let order = match serde_json::from_value::<OrderRequest>(raw) {
            Ok(order) => order,
            Err(e) => return unprocessable(&e.to_string()),
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

/// The documented 422 message for a well-formed body that misses a field or
/// carries a wrong type (the document answers 400 only for bad JSON).
fn invalid(raw: &serde_json::Value) -> Option<&'static str> {
    if raw["external_order_id"].as_str().is_none() {
        return Some("External order id can't be blank");
    }
    let Some(products) = raw["products"].as_array() else {
        return Some("Products can't be blank");
    };
    if products.iter().any(|p| p["option_id"].as_str().is_none()) {
        return Some("Product with option_id not found");
    }
    if products.iter().any(|p| {
        p["qty"]
            .as_u64()
            .is_none_or(|q| q == 0 || q > u64::from(u32::MAX))
    }) {
        return Some("Qty must be a positive integer");
    }
    None
}

/// The image behind a webhook's `qrcode_img_url`: the QR code of the LPA
/// string in the path, as PNG (the document's URL has the same form,
/// `/api/iccid/qrcode/{lpa}/{size}`; the size is accepted and ignored).
pub(crate) async fn qr_image(Path((lpa, _size)): Path<(String, String)>) -> Response {
    match qr_png(&lpa) {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err(failed) => plain(StatusCode::INTERNAL_SERVER_ERROR, &failed),
    }
}
