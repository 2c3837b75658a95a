//! `POST /orders` (transaction and validation orders), `GET /orders` and
//! `GET /orders/{reference}`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use simgate_connectors::esim_go::types::*;

use crate::esim_go::routes::catalogue::*;
use crate::esim_go::routes::*;
use crate::esim_go::state::*;
use crate::simulator::Purchase;

pub(crate) async fn create_order(
    State(sandbox): State<EsimGoSandbox>,
    request: Result<Json<OrderRequest>, JsonRejection>,
) -> Answer<OrderResponse> {
    let request = body(request)?;
    let validate = match request.kind.as_str() {
        "validate" => true,
        "transaction" => false,
        other => return Err(bad_request(format!("Unknown order type {other}"))),
    };
    if request.order.is_empty() {
        return Err(bad_request("Order must contain at least one item"));
    }
    let mut state = sandbox.lock();
    let mut total = 0.0;
    let mut lines = Vec::new();
    for item in &request.order {
        let bundle = state
            .bundle(&item.item)
            .ok_or_else(|| bad_request(format!("Bundle {} not found", item.item)))?;
        if item.kind != "bundle" {
            return Err(bad_request(format!("Unknown item type {}", item.kind)));
        }
        if !(1..=1000).contains(&item.quantity) {
            return Err(bad_request("Quantity must be between 1 and 1000"));
        }
        if !item.iccids.is_empty() {
            if !request.assign {
                return Err(bad_request("ICCIDs can only be given with assign: true"));
            }
            if item.iccids.len() != item.quantity as usize {
                return Err(bad_request("Quantity must match the number of ICCIDs"));
            }
            if item.iccids.iter().any(|i| !state.esims.contains_key(i)) {
                return Err(not_yours());
            }
        }
        total += bundle.price * f64::from(item.quantity);
        lines.push((item.clone(), bundle));
    }
    let total = (total * 100.0).round() / 100.0;
    if total > state.balance {
        return Err(refuse(StatusCode::FORBIDDEN, "Insufficient balance"));
    }
    let now = Utc::now();
    let reference = uuid::Uuid::new_v4().to_string();
    let currency = state.config.currency.clone();
    let mut answer_lines = Vec::new();
    let mut assigned = 0;
    for (item, bundle) in lines {
        let mut esims = Vec::new();
        if !validate {
            if request.assign {
                let iccids = if item.iccids.is_empty() {
                    (0..item.quantity)
                        .map(|_| state.mint_esim(now))
                        .collect::<Result<Vec<_>, _>>()?
                } else {
                    item.iccids.clone()
                };
                for iccid in &iccids {
                    state.assign(iccid, &bundle, &reference, now);
                    esims.extend(state.order_esim(iccid));
                }
                assigned += iccids.len();
            } else {
                let id = state.next_id as i64;
                state.next_id += 1;
                state.inventory.push(Lot {
                    id,
                    bundle: bundle.name.clone(),
                    total: i64::from(item.quantity),
                    remaining: i64::from(item.quantity),
                    price: bundle.price,
                });
            }
        }
        answer_lines.push(OrderLine {
            iccids: esims.iter().map(|e| e.iccid.clone()).collect(),
            esims,
            kind: "bundle".to_owned(),
            item: bundle.name.clone(),
            quantity: item.quantity,
            sub_total: bundle.price * f64::from(item.quantity),
            price_per_unit: bundle.price,
            allow_reassign: item.allow_reassign,
        });
    }
    let response = OrderResponse {
        order: answer_lines,
        total,
        currency,
        status: if validate { "validated" } else { "completed" }.to_owned(),
        status_message: if validate {
            "Order is valid".to_owned()
        } else {
            format!("Order completed: {assigned} eSIMs assigned")
        },
        order_reference: if validate { String::new() } else { reference },
        created_date: Some(rfc3339(now)),
        assigned: request.assign && !validate,
        valid: validate.then_some(true),
    };
    if validate {
        return Ok(Json(response));
    }
    state.balance -= total;
    state.purchases += 1;
    let skus: Vec<&str> = response.order.iter().map(|l| l.item.as_str()).collect();
    let purchase = Purchase::now(
        response.order_reference.clone(),
        None,
        skus.join("+"),
        response.order.iter().map(|l| l.quantity).sum(),
    );
    state.sold.push(purchase);
    let ready_at = if assigned > ASYNC_THRESHOLD {
        now + Duration::milliseconds(ASYNC_DELAY_MS)
    } else {
        now
    };
    let order = SimOrder { response, ready_at };
    let view = order.view(now);
    state.orders.push(order);
    Ok(Json(view))
}

/// Optional lower and upper bounds of a creation time.
pub(crate) type TimeWindow = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `createdAt=gte:…` / `createdAt=lte:…` bounds.
pub(crate) fn created_bounds(pairs: &[(String, String)]) -> Result<TimeWindow, Refusal> {
    let mut from = None;
    let mut to = None;
    for (key, value) in pairs.iter().filter(|(k, _)| k == "createdAt") {
        let (op, at) = value
            .split_once(':')
            .ok_or_else(|| bad_request(format!("Bad createdAt {value}")))?;
        let at = DateTime::parse_from_rfc3339(at)
            .map_err(|_| bad_request(format!("Bad createdAt {key}={value}")))?
            .with_timezone(&Utc);
        match op {
            "gte" => from = Some(at),
            "lte" => to = Some(at),
            _ => return Err(bad_request(format!("Bad createdAt operator {op}"))),
        }
    }
    Ok((from, to))
}

/// An order as `GET /orders` and `GET /orders/{reference}` document it:
/// `createDate` (not the `createdDate` of the creation answer), no
/// `assigned`, no `allowReassign`, and an `invoiceLink` per line on the
/// list. Each line keeps `esims` and `iccids`, which the document's example
/// lacks: the client's reconciliation reads the ICCIDs of a lost order off
/// the list (see the module documentation).
fn documented(order: &OrderResponse, invoice: bool) -> Value {
    let lines: Vec<Value> = order
        .order
        .iter()
        .map(|line| {
            let mut value = json!({
                "esims": line.esims,
                "iccids": line.iccids,
                "type": line.kind,
                "item": line.item,
                "quantity": line.quantity,
                "subTotal": line.sub_total,
                "pricePerUnit": line.price_per_unit,
            });
            if invoice {
                value["invoiceLink"] = json!(format!(
                    "https://sandbox.esim-go.simgate.test/invoices/{}.pdf",
                    order.order_reference
                ));
            }
            value
        })
        .collect();
    json!({
        "order": lines,
        "total": order.total,
        "currency": order.currency,
        "status": order.status,
        "statusMessage": order.status_message,
        "orderReference": order.order_reference,
        "createDate": order.created_date.clone().unwrap_or_default(),
    })
}

pub(crate) async fn list_orders(
    State(sandbox): State<EsimGoSandbox>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Value>>, Refusal> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let page = number(get("page"), "page", 1)?.max(1) as usize;
    let limit = number(get("limit"), "limit", 10)?.clamp(1, 1000) as usize;
    let (from, to) = created_bounds(&pairs)?;
    let state = sandbox.lock();
    let now = Utc::now();
    let orders = state
        .orders
        .iter()
        .map(|o| o.view(now))
        .filter(|o| {
            let at = o
                .created_date
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.with_timezone(&Utc));
            from.is_none_or(|f| at.is_some_and(|a| a >= f))
                && to.is_none_or(|t| at.is_some_and(|a| a <= t))
        })
        .skip((page - 1) * limit)
        .take(limit)
        .map(|o| documented(&o, true))
        .collect();
    Ok(Json(orders))
}

pub(crate) async fn get_order(
    State(sandbox): State<EsimGoSandbox>,
    Path(reference): Path<String>,
) -> Result<Json<Value>, Refusal> {
    let state = sandbox.lock();
    state
        .orders
        .iter()
        .find(|o| o.response.order_reference == reference)
        .map(|o| Json(documented(&o.view(Utc::now()), false)))
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Order not found"))
}
