//! `POST /sim_card_order_preview`, `POST /sim_card_orders` and
//! `GET /sim_card_orders/{id}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rust_decimal::Decimal;
use simgate_connectors::telnyx::types::{
    Address, Data, ErrorObject, OrderBody, SIM_CARD_ORDER_PREVIEW, SimCardOrderPreview,
};
use uuid::Uuid;

use crate::telnyx::routes::*;
use crate::telnyx::state::*;

/// What `quantity` SIM cards cost: the cards, and the total with shipping.
pub(crate) fn price(quantity: u32) -> (Decimal, Decimal) {
    let cards = SIM_CARD_PRICE * Decimal::from(quantity);
    (cards, cards + SHIPPING_PRICE)
}

/// Checks an order body; the address it names and the quantity.
pub(crate) fn check_order(state: &TelnyxState, body: &Bytes) -> Result<(Address, u32), Refusal> {
    let value: serde_json::Value = parse_body(body)?;
    let absent: Vec<ErrorObject> = ["address_id", "quantity"]
        .into_iter()
        .filter(|field| value.get(field).is_none_or(serde_json::Value::is_null))
        .map(missing)
        .collect();
    if !absent.is_empty() {
        return Err(Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: absent,
        });
    }
    let body: OrderBody = serde_json::from_value(value).map_err(|e| {
        bad_request(
            format!("address_id must be a string and quantity an integer: {e}"),
            Source::Pointer("/quantity".to_owned()),
        )
    })?;
    let quantity = u32::try_from(body.quantity)
        .ok()
        .filter(|q| *q >= 1)
        .ok_or_else(|| {
            bad_request(
                "quantity must be at least 1.".to_owned(),
                Source::Pointer("/quantity".to_owned()),
            )
        })?;
    let address = state
        .addresses
        .get(&body.address_id)
        .cloned()
        .ok_or_else(|| Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: vec![error_object(
                "10005",
                "Resource not found",
                Some(format!("Address '{}' was not found.", body.address_id)),
                Some(Source::Pointer("/address_id".to_owned())),
            )],
        })?;
    Ok((address, quantity))
}

pub(crate) async fn preview(State(sandbox): State<TelnyxSandbox>, body: Bytes) -> Answer {
    let state = sandbox.lock();
    let (_, quantity) = check_order(&state, &body)?;
    let (cards, total) = price(quantity);
    let data = SimCardOrderPreview {
        total_cost: usd(total),
        shipping_cost: usd(SHIPPING_PRICE),
        sim_cards_cost: usd(cards),
        record_type: SIM_CARD_ORDER_PREVIEW.to_owned(),
        quantity,
    };
    Ok((StatusCode::ACCEPTED, Json(Data { data })).into_response())
}

pub(crate) async fn create_order(State(sandbox): State<TelnyxSandbox>, body: Bytes) -> Answer {
    let mut state = sandbox.lock();
    let (address, quantity) = check_order(&state, &body)?;
    let record = OrderRecord {
        id: Uuid::new_v4().to_string(),
        quantity,
        cost: price(quantity).1,
        address,
        created_at: now(),
        canceled_at: None,
        tracking_url: None,
    };
    let data = record.wire(record.created_at, state.config.step);
    state.orders.push(record);
    Ok(Json(Data { data }).into_response())
}

pub(crate) fn find_order<'a>(state: &'a TelnyxState, id: &str) -> Result<&'a OrderRecord, Refusal> {
    if Uuid::parse_str(id).is_err() {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "10006",
            "Invalid ID",
            Some(format!("'{id}' is not a valid ID.")),
        ));
    }
    state.orders.iter().find(|o| o.id == id).ok_or_else(|| {
        refusal(
            StatusCode::NOT_FOUND,
            "10005",
            "Resource not found",
            Some(format!("SIM card order '{id}' was not found.")),
        )
    })
}

pub(crate) async fn get_order(
    State(sandbox): State<TelnyxSandbox>,
    Path(id): Path<String>,
) -> Answer {
    let state = sandbox.lock();
    let order = find_order(&state, &id)?;
    Ok(Json(Data {
        data: order.wire(now(), state.config.step),
    })
    .into_response())
}
