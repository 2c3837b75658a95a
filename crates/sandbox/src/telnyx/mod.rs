//! A stateful simulator of Telnyx addresses and SIM card orders.
//!
//! Orders walk `pending → processing → ready_to_ship → shipped →
//! delivered`, one step per [`TelnyxSandboxConfig::step`] after creation,
//! and get a tracking URL once shipped; an admin hook cancels one that has
//! not shipped. Lists take every documented `filter[...]` and
//! `page[number]`/`page[size]` (1..250), newest order first. Errors are
//! JSON:API bodies with Telnyx codes; with a rate limit configured, every
//! answer carries `x-ratelimit-*` headers and the excess gets 429 / 10011.
//!
//! Every route but the admin ones needs `Authorization: Bearer <api_key>`.
//! Admin hooks under [`ADMIN_PREFIX`]: `POST
//! /__admin/sim_card_orders/{id}/cancel` and `GET /__admin/purchases`
//! (every order created, sku `sim_card`; Telnyx keeps no caller reference;
//! see [`crate::simulator::PurchaseList`]), besides the shared
//! `/__admin/faults`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use simgate_domain::{CountryCode, SimOrderStatus};
use uuid::Uuid;

use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, PurchaseList, SimulatorHandle, bearer_matches,
    purchases_path, serve, with_faults,
};
use simgate_connectors::telnyx::types::{
    ADDRESS, Address, AddressBody, Cost, Data, ErrorBody, ErrorObject, ErrorSource, ListOf,
    OrderBody, PaginationMeta, SIM_CARD_ORDER, SIM_CARD_ORDER_PREVIEW, SimCardOrder,
    SimCardOrderPreview,
};

/// The API key the sandbox accepts unless configured otherwise.
pub const DEFAULT_API_KEY: &str = "sandbox-telnyx-key";
/// What one SIM card costs in the sandbox (the documented example: 21 for 2.52).
pub const SIM_CARD_PRICE: Decimal = Decimal::from_parts(12, 0, 0, false, 2);
/// The flat shipping charge of one order.
pub const SHIPPING_PRICE: Decimal = Decimal::from_parts(499, 0, 0, false, 2);
/// Countries the sandbox, like a real carrier, does not ship to.
pub const EMBARGOED: [&str; 4] = ["CU", "IR", "KP", "SY"];
/// What the purchase list calls a physical SIM card.
const SIM_CARD_SKU: &str = "sim_card";
/// Where tracking URLs point.
const TRACKING_BASE: &str = "https://tracking.sandbox.telnyx.simgate.test/";
/// The first address id handed out (an int64 as Telnyx writes them).
const FIRST_ADDRESS_ID: u64 = 1_293_384_261_075_731_499;
const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 250;

/// Configuration of the simulator.
#[derive(Clone)]
pub struct TelnyxSandboxConfig {
    /// The bearer key every API call must carry (default [`DEFAULT_API_KEY`]).
    pub api_key: String,
    /// How long an order stays in each status before the next (default 2 s).
    pub step: Duration,
    /// Requests per second before 429; `None` (the default) for no limit.
    pub rate_limit: Option<u32>,
}

impl Default for TelnyxSandboxConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_owned(),
            step: Duration::from_secs(2),
            rate_limit: None,
        }
    }
}

impl std::fmt::Debug for TelnyxSandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxSandboxConfig")
            .field("step", &self.step)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}

struct OrderRecord {
    id: String,
    quantity: u32,
    cost: Decimal,
    address: Address,
    created_at: DateTime<Utc>,
    canceled_at: Option<DateTime<Utc>>,
}

/// The statuses an order walks through, one per step.
const WALK: [SimOrderStatus; 5] = [
    SimOrderStatus::Pending,
    SimOrderStatus::Processing,
    SimOrderStatus::ReadyToShip,
    SimOrderStatus::Shipped,
    SimOrderStatus::Delivered,
];

impl OrderRecord {
    /// Where the order is at `now`, and since when.
    fn status_at(&self, now: DateTime<Utc>, step: Duration) -> (SimOrderStatus, DateTime<Utc>) {
        let steps_taken = |at: DateTime<Utc>| {
            let elapsed = (at - self.created_at).to_std().unwrap_or_default();
            let step_ms = step.as_millis().max(1);
            usize::try_from(elapsed.as_millis() / step_ms)
                .unwrap_or(usize::MAX)
                .min(WALK.len() - 1)
        };
        let since = |steps: usize| {
            let offset = step.saturating_mul(u32::try_from(steps).unwrap_or(u32::MAX));
            self.created_at + chrono::Duration::from_std(offset).unwrap_or_default()
        };
        match self.canceled_at {
            Some(at) => (SimOrderStatus::Canceled, at),
            None => {
                let steps = steps_taken(now);
                (WALK[steps], since(steps))
            }
        }
    }

    fn wire(&self, now: DateTime<Utc>, step: Duration) -> SimCardOrder {
        let (status, updated_at) = self.status_at(now, step);
        let shipped = matches!(status, SimOrderStatus::Shipped | SimOrderStatus::Delivered);
        SimCardOrder {
            id: self.id.clone(),
            record_type: SIM_CARD_ORDER.to_owned(),
            quantity: self.quantity,
            cost: usd(self.cost),
            order_address: Address {
                record_type: None,
                ..self.address.clone()
            },
            tracking_url: shipped.then(|| format!("{TRACKING_BASE}{}", self.id)),
            status: status.as_str().to_owned(),
            created_at: timestamp(self.created_at),
            updated_at: timestamp(updated_at),
        }
    }
}

struct RateWindow {
    started: Instant,
    used: u32,
}

struct TelnyxState {
    config: TelnyxSandboxConfig,
    addresses: BTreeMap<String, Address>,
    next_address_id: u64,
    /// In creation order; lists answer newest first.
    orders: Vec<OrderRecord>,
    window: RateWindow,
}

/// The simulator; clones share state.
#[derive(Clone)]
pub struct TelnyxSandbox {
    state: Arc<Mutex<TelnyxState>>,
    faults: Arc<FaultInjector>,
}

impl std::fmt::Debug for TelnyxSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxSandbox").finish_non_exhaustive()
    }
}

impl TelnyxSandbox {
    /// An empty account: no addresses, no orders.
    pub fn new(config: TelnyxSandboxConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(TelnyxState {
                config,
                addresses: BTreeMap::new(),
                next_address_id: FIRST_ADDRESS_ID,
                orders: Vec::new(),
                window: RateWindow {
                    started: Instant::now(),
                    used: 0,
                },
            })),
            faults: Arc::new(FaultInjector::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TelnyxState> {
        self.state.lock().expect("Telnyx sandbox state poisoned")
    }

    /// The full router: the API behind bearer auth, rate limit and faults,
    /// plus admin hooks.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/addresses", post(create_address))
            .route("/sim_card_order_preview", post(preview))
            .route("/sim_card_orders", get(list_orders).post(create_order))
            .route("/sim_card_orders/{id}", get(get_order))
            .fallback(|| async {
                refusal(StatusCode::NOT_FOUND, "10005", "Resource not found", None)
            })
            .layer(middleware::from_fn_with_state(self.clone(), rate_limit))
            .layer(middleware::from_fn_with_state(self.clone(), require_key))
            .with_state(self.clone());
        let admin = Router::new()
            .route(
                &format!("{ADMIN_PREFIX}/sim_card_orders/{{id}}/cancel"),
                post(admin_cancel),
            )
            .route(&purchases_path(), get(list_purchases))
            .with_state(self.clone());
        with_faults(api, self.faults.clone(), fault_body).merge(admin)
    }

    /// Serves on the listener in the background.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> std::io::Result<SimulatorHandle> {
        serve(listener, self.router())
    }

    /// How many orders were created: what "never bought twice" is checked by.
    pub fn orders_created(&self) -> usize {
        self.lock().orders.len()
    }

    /// Every order created, oldest first: what `GET /__admin/purchases` lists.
    pub fn sold(&self) -> Vec<Purchase> {
        self.lock()
            .orders
            .iter()
            .map(|o| Purchase {
                reference: o.id.clone(),
                caller_reference: None,
                sku: SIM_CARD_SKU.to_owned(),
                quantity: o.quantity,
                created_at: timestamp(o.created_at),
            })
            .collect()
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn usd(amount: Decimal) -> Cost {
    Cost {
        amount: format!("{:.2}", amount),
        currency: "USD".to_owned(),
    }
}

/// Now, to the millisecond, as Telnyx timestamps are.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// Where an error points: a body field or a query parameter.
enum Source {
    Pointer(String),
    Parameter(String),
}

/// A Telnyx error answer.
struct Refusal {
    status: StatusCode,
    errors: Vec<ErrorObject>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                errors: self.errors,
            }),
        )
            .into_response()
    }
}

fn error_object(
    code: &str,
    title: &str,
    detail: Option<String>,
    source: Option<Source>,
) -> ErrorObject {
    ErrorObject {
        code: code.to_owned(),
        title: title.to_owned(),
        detail,
        source: source.map(|source| match source {
            Source::Pointer(pointer) => ErrorSource {
                pointer: Some(pointer),
                parameter: None,
            },
            Source::Parameter(parameter) => ErrorSource {
                pointer: None,
                parameter: Some(parameter),
            },
        }),
    }
}

fn refusal(status: StatusCode, code: &str, title: &str, detail: Option<String>) -> Refusal {
    Refusal {
        status,
        errors: vec![error_object(code, title, detail, None)],
    }
}

fn bad_request(detail: String, source: Source) -> Refusal {
    Refusal {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        errors: vec![error_object(
            "10015",
            "Bad Request",
            Some(detail),
            Some(source),
        )],
    }
}

fn bad_parameter(parameter: &str, detail: String) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        errors: vec![error_object(
            "10015",
            "Bad Request",
            Some(detail),
            Some(Source::Parameter(parameter.to_owned())),
        )],
    }
}

fn missing(field: &str) -> ErrorObject {
    error_object(
        "10004",
        "Missing required parameter",
        Some(format!("The '{field}' parameter is required.")),
        Some(Source::Pointer(format!("/{field}"))),
    )
}

/// The error body of an injected fault, its Telnyx code taken from the status.
fn fault_body(status: StatusCode, message: &str) -> Response {
    let (code, title) = match status {
        StatusCode::UNAUTHORIZED => ("10009", "Authentication failed"),
        StatusCode::FORBIDDEN => ("10010", "Authorization failed"),
        StatusCode::NOT_FOUND => ("10005", "Resource not found"),
        StatusCode::TOO_MANY_REQUESTS => ("10011", "Too many requests"),
        _ => ("10007", "Unexpected error"),
    };
    refusal(status, code, title, Some(message.to_owned())).into_response()
}

type Answer = Result<Response, Refusal>;

fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        refusal(
            StatusCode::BAD_REQUEST,
            "10015",
            "Bad Request",
            Some(format!("The request body is not valid JSON: {e}")),
        )
    })
}

async fn require_key(
    State(sandbox): State<TelnyxSandbox>,
    request: Request,
    next: Next,
) -> Response {
    let expected = sandbox.lock().config.api_key.clone();
    if !bearer_matches(request.headers(), &expected) {
        return refusal(
            StatusCode::UNAUTHORIZED,
            "10009",
            "Authentication failed",
            Some("Could not understand the provided credentials.".to_owned()),
        )
        .into_response();
    }
    next.run(request).await
}

/// A fixed one-second window; every answer says how much of it is left.
async fn rate_limit(
    State(sandbox): State<TelnyxSandbox>,
    request: Request,
    next: Next,
) -> Response {
    let verdict = {
        let mut state = sandbox.lock();
        state.config.rate_limit.map(|limit| {
            if state.window.started.elapsed() >= Duration::from_secs(1) {
                state.window = RateWindow {
                    started: Instant::now(),
                    used: 0,
                };
            }
            let allowed = state.window.used < limit;
            if allowed {
                state.window.used += 1;
            }
            (limit, limit - state.window.used, allowed)
        })
    };
    let Some((limit, remaining, allowed)) = verdict else {
        return next.run(request).await;
    };
    let mut response = if allowed {
        next.run(request).await
    } else {
        refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "10011",
            "Too many requests",
            Some(format!("More than {limit} requests in a second.")),
        )
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(1u32));
    response
}

async fn create_address(State(sandbox): State<TelnyxSandbox>, body: Bytes) -> Answer {
    let body: AddressBody = parse_body(&body)?;
    let required = [
        ("first_name", &body.first_name),
        ("last_name", &body.last_name),
        ("business_name", &body.business_name),
        ("street_address", &body.street_address),
        ("locality", &body.locality),
        ("country_code", &body.country_code),
    ];
    let absent: Vec<ErrorObject> = required
        .iter()
        .filter(|(_, value)| value.as_deref().is_none_or(|v| v.trim().is_empty()))
        .map(|(field, _)| missing(field))
        .collect();
    if !absent.is_empty() {
        return Err(Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: absent,
        });
    }
    let country = body.country_code.clone().unwrap_or_default();
    if CountryCode::parse(&country).is_err() {
        return Err(bad_request(
            format!("'{country}' is not an ISO 3166-1 alpha-2 country code."),
            Source::Pointer("/country_code".to_owned()),
        ));
    }
    if EMBARGOED.contains(&country.as_str()) {
        return Err(bad_request(
            format!("SIM cards cannot be shipped to {country}."),
            Source::Pointer("/country_code".to_owned()),
        ));
    }
    let mut state = sandbox.lock();
    let id = state.next_address_id.to_string();
    state.next_address_id += 1;
    let address = Address {
        id: id.clone(),
        record_type: Some(ADDRESS.to_owned()),
        first_name: body.first_name,
        last_name: body.last_name,
        business_name: body.business_name,
        street_address: body.street_address,
        extended_address: body.extended_address,
        locality: body.locality,
        administrative_area: body.administrative_area,
        postal_code: body.postal_code,
        country_code: Some(country),
    };
    state.addresses.insert(id, address.clone());
    Ok(Json(Data { data: address }).into_response())
}

/// What `quantity` SIM cards cost: the cards, and the total with shipping.
fn price(quantity: u32) -> (Decimal, Decimal) {
    let cards = SIM_CARD_PRICE * Decimal::from(quantity);
    (cards, cards + SHIPPING_PRICE)
}

/// Checks an order body; the address it names and the quantity.
fn check_order(state: &TelnyxState, body: &Bytes) -> Result<(Address, u32), Refusal> {
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

async fn preview(State(sandbox): State<TelnyxSandbox>, body: Bytes) -> Answer {
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

async fn create_order(State(sandbox): State<TelnyxSandbox>, body: Bytes) -> Answer {
    let mut state = sandbox.lock();
    let (address, quantity) = check_order(&state, &body)?;
    let record = OrderRecord {
        id: Uuid::new_v4().to_string(),
        quantity,
        cost: price(quantity).1,
        address,
        created_at: now(),
        canceled_at: None,
    };
    let data = record.wire(record.created_at, state.config.step);
    state.orders.push(record);
    Ok(Json(Data { data }).into_response())
}

fn find_order<'a>(state: &'a TelnyxState, id: &str) -> Result<&'a OrderRecord, Refusal> {
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

async fn get_order(State(sandbox): State<TelnyxSandbox>, Path(id): Path<String>) -> Answer {
    let state = sandbox.lock();
    let order = find_order(&state, &id)?;
    Ok(Json(Data {
        data: order.wire(now(), state.config.step),
    })
    .into_response())
}

/// Reads one text field of an order's wire form.
type Field = fn(&SimCardOrder) -> Option<&str>;

/// One `filter[...]` of the list, as a test on an order's wire form.
enum Filter {
    /// Exact match; codes (currency, country) ignore case.
    Text {
        field: Field,
        wanted: String,
        ignore_case: bool,
    },
    Time {
        created: bool,
        at: DateTime<Utc>,
    },
    Quantity(u32),
    Amount(Decimal),
}

impl Filter {
    /// The filter a query parameter names; `None` for other parameters.
    fn parse(name: &str, value: &str) -> Result<Option<Filter>, Refusal> {
        let bad = |what: &str| bad_parameter(name, format!("'{value}' is not {what}."));
        let time = |created: bool| {
            DateTime::parse_from_rfc3339(value)
                .map(|t| {
                    Some(Filter::Time {
                        created,
                        at: t.with_timezone(&Utc),
                    })
                })
                .map_err(|_| bad("an ISO 8601 date-time"))
        };
        let text = |field: Field, ignore_case: bool| {
            Ok(Some(Filter::Text {
                field,
                wanted: value.to_owned(),
                ignore_case,
            }))
        };
        match name {
            "filter[created_at]" => time(true),
            "filter[updated_at]" => time(false),
            "filter[quantity]" => value
                .parse()
                .map(|q| Some(Filter::Quantity(q)))
                .map_err(|_| bad("an integer")),
            "filter[cost.amount]" => Decimal::from_str(value)
                .map(|a| Some(Filter::Amount(a)))
                .map_err(|_| bad("an amount")),
            "filter[cost.currency]" => text(|o| Some(o.cost.currency.as_str()), true),
            "filter[address.id]" => text(|o| Some(o.order_address.id.as_str()), false),
            "filter[address.street_address]" => {
                text(|o| o.order_address.street_address.as_deref(), false)
            }
            "filter[address.extended_address]" => {
                text(|o| o.order_address.extended_address.as_deref(), false)
            }
            "filter[address.locality]" => text(|o| o.order_address.locality.as_deref(), false),
            "filter[address.administrative_area]" => {
                text(|o| o.order_address.administrative_area.as_deref(), false)
            }
            "filter[address.country_code]" => {
                text(|o| o.order_address.country_code.as_deref(), true)
            }
            "filter[address.postal_code]" => {
                text(|o| o.order_address.postal_code.as_deref(), false)
            }
            _ => Ok(None),
        }
    }

    fn matches(&self, order: &SimCardOrder) -> bool {
        match self {
            Filter::Quantity(q) => order.quantity == *q,
            Filter::Amount(a) => Decimal::from_str(&order.cost.amount).is_ok_and(|x| x == *a),
            Filter::Time { created, at } => {
                let raw = if *created {
                    &order.created_at
                } else {
                    &order.updated_at
                };
                DateTime::parse_from_rfc3339(raw).is_ok_and(|t| t == *at)
            }
            Filter::Text {
                field,
                wanted,
                ignore_case,
            } => field(order).is_some_and(|value| {
                if *ignore_case {
                    value.eq_ignore_ascii_case(wanted)
                } else {
                    value == wanted
                }
            }),
        }
    }
}

fn page_parameter(
    name: &str,
    value: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, Refusal> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            bad_parameter(
                name,
                format!(
                    "{name} must be an integer from {} to {}, not '{value}'.",
                    range.start(),
                    range.end()
                ),
            )
        })
}

async fn list_orders(State(sandbox): State<TelnyxSandbox>, RawQuery(query): RawQuery) -> Answer {
    let mut filters = Vec::new();
    let mut page_number = 1;
    let mut page_size = DEFAULT_PAGE_SIZE;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "page[number]" => page_number = page_parameter(&name, &value, 1..=u32::MAX)?,
            "page[size]" => page_size = page_parameter(&name, &value, 1..=MAX_PAGE_SIZE)?,
            _ => filters.extend(Filter::parse(&name, &value)?),
        }
    }
    let state = sandbox.lock();
    let now = now();
    let matching: Vec<SimCardOrder> = state
        .orders
        .iter()
        .rev()
        .map(|order| order.wire(now, state.config.step))
        .filter(|order| filters.iter().all(|f| f.matches(order)))
        .collect();
    let total_results = matching.len() as u64;
    let total_pages =
        u32::try_from(total_results.div_ceil(u64::from(page_size))).unwrap_or(u32::MAX);
    let skip =
        usize::try_from((u64::from(page_number) - 1) * u64::from(page_size)).unwrap_or(usize::MAX);
    let data = matching
        .into_iter()
        .skip(skip)
        .take(page_size as usize)
        .collect();
    Ok(Json(ListOf {
        data,
        meta: PaginationMeta {
            page_number,
            page_size,
            total_pages,
            total_results,
        },
    })
    .into_response())
}

async fn list_purchases(State(sandbox): State<TelnyxSandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

async fn admin_cancel(State(sandbox): State<TelnyxSandbox>, Path(id): Path<String>) -> Answer {
    let mut state = sandbox.lock();
    let step = state.config.step;
    let now = now();
    let order = state
        .orders
        .iter_mut()
        .find(|o| o.id == id)
        .ok_or_else(|| refusal(StatusCode::NOT_FOUND, "10005", "Resource not found", None))?;
    let (status, _) = order.status_at(now, step);
    if matches!(
        status,
        SimOrderStatus::Shipped | SimOrderStatus::Delivered | SimOrderStatus::Canceled
    ) {
        return Err(refusal(
            StatusCode::CONFLICT,
            "10015",
            "Bad Request",
            Some(format!(
                "An order that is {} cannot be canceled.",
                status.as_str()
            )),
        ));
    }
    order.canceled_at = Some(now);
    Ok(Json(Data {
        data: order.wire(now, step),
    })
    .into_response())
}
