//! Reseller-facing events: webhook endpoints, the event log and replays.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use simgate_domain::entities::Endpoint;
use simgate_domain::{EndpointId, EventId, TenantId};
use simgate_service::{EndpointWithSecret, EventWithDeliveries};
use utoipa::{IntoParams, ToSchema};

use simgate_service::ServiceError;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{ApiError, Problem};

/// `POST /v1/webhook-endpoints` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    /// An `https://` (or `http://`) URL that accepts POSTs, on a public
    /// address: loopback, private, link-local and other internal targets
    /// are refused, and redirects are not followed.
    #[schema(
        pattern = r"^https?://[^\s/?#@]+",
        max_length = 2048,
        example = "https://example.com/simgate/events"
    )]
    pub url: String,
}

/// A webhook endpoint. Its secret, which verifies the `webhook-signature`
/// header, is shown only when it is made: see `EndpointWithSecretView`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    pub id: EndpointId,
    pub url: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Until when deliveries also carry a signature by the secret the
    /// last rotation replaced; `null` when they carry only the current one's.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Endpoint> for EndpointView {
    fn from(e: Endpoint) -> Self {
        Self {
            id: EndpointId::from_stored(e.id),
            url: e.url,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            previous_secret_expires_at: e
                .previous_secret
                .map(|p| p.expires_at)
                .filter(|at| *at > Utc::now()),
            created_at: e.created_at,
        }
    }
}

/// An endpoint with its signing secret: the answer of creating it or
/// rotating its secret, the only times the secret is shown. Keep it: it
/// cannot be read again, only rotated.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EndpointWithSecretView {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_…`, as the Standard Webhooks libraries expect it.
    pub secret: String,
}

impl std::fmt::Debug for EndpointWithSecretView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointWithSecretView")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl From<EndpointWithSecret> for EndpointWithSecretView {
    fn from(issued: EndpointWithSecret) -> Self {
        Self {
            secret: issued.secret.expose_secret().to_owned(),
            endpoint: issued.endpoint.into(),
        }
    }
}

/// The tenant's endpoints.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointList {
    pub data: Vec<EndpointView>,
}

/// One delivery of an event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    pub endpoint_id: EndpointId,
    /// `pending`, `delivered`, `failed` or `disabled`.
    pub status: String,
    pub attempts: u32,
    pub last_response: Option<u16>,
    pub last_error: Option<String>,
}

/// An event and how its deliveries went.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Also the `webhook-id` of every delivery of it.
    pub id: EventId,
    /// One of the event types of the `EventBody` schema.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The body endpoints receive.
    #[schema(value_type = simgate_domain::EventBody)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub deliveries: Vec<DeliveryView>,
}

/// A page of events, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub data: Vec<EventView>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<EventId>,
}

/// How many deliveries a replay started.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Replay {
    pub deliveries: usize,
}

/// Registers an endpoint; every later event of the tenant is sent to it.
/// Its host must be a public address, or a name resolving only to public
/// addresses (422 `webhook_target_not_public` otherwise). At most
/// `[limits] max_webhook_endpoints` are enabled at once (409
/// `too_many_endpoints`). The answer holds the endpoint's signing secret,
/// shown this once.
#[utoipa::path(post, operation_id = "createWebhookEndpoint", path = "/v1/webhook-endpoints", tag = "events", request_body = CreateEndpoint,
    responses((status = 201, body = EndpointWithSecretView),
        (status = 409, body = Problem, description = "`too_many_endpoints`: the account has the most enabled endpoints already"),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiJson(body): ApiJson<CreateEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithSecretView>), ApiError> {
    let endpoint = state
        .services
        .create_endpoint(&TenantId::from_stored(tenant.id), &body.url)
        .await?;
    Ok((StatusCode::CREATED, Json(endpoint.into())))
}

/// The tenant's endpoints.
#[utoipa::path(get, operation_id = "listWebhookEndpoints", path = "/v1/webhook-endpoints", tag = "events", responses((status = 200, body = EndpointList)))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = state.services.endpoints(&tenant.id).await?;
    Ok(Json(EndpointList {
        data: endpoints.into_iter().map(Into::into).collect(),
    }))
}

/// Gives an endpoint a new signing secret, shown in the answer this once.
/// For the configured overlap (24 h by default) deliveries carry two
/// signatures, the old secret's and the new one's (`webhook-signature:
/// v1,<old> v1,<new>`), so a receiver can switch secrets without refusing
/// any; then only the new one's. A second rotation within the overlap ends
/// the oldest secret at once.
#[utoipa::path(post, operation_id = "rotateWebhookEndpointSecret", path = "/v1/webhook-endpoints/{id}/rotate-secret", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = EndpointWithSecretView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn rotate_endpoint_secret(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<Json<EndpointWithSecretView>, ApiError> {
    let endpoint_id =
        EndpointId::parse(&id).map_err(|_| ServiceError::EndpointNotFound(id.clone()))?;
    let rotated = state
        .services
        .rotate_endpoint_secret(&TenantId::from_stored(tenant.id), &endpoint_id)
        .await?;
    Ok(Json(rotated.into()))
}

/// Stops sending events to an endpoint.
#[utoipa::path(delete, operation_id = "deleteWebhookEndpoint", path = "/v1/webhook-endpoints/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::not_found("endpoint_not_found", format!("no endpoint {id}"));
    let endpoint_id = EndpointId::parse(&id).map_err(|_| not_found())?;
    if state
        .services
        .remove_endpoint(&TenantId::from_stored(tenant.id), &endpoint_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

/// Event list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Events older than this event id.
    before: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

fn view(EventWithDeliveries { event, deliveries }: EventWithDeliveries) -> EventView {
    EventView {
        payload: serde_json::from_str(&event.payload).unwrap_or(serde_json::Value::Null),
        id: EventId::from_stored(event.id),
        event_type: event.event_type,
        created_at: event.created_at,
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryView {
                endpoint_id: EndpointId::from_stored(d.endpoint_id),
                status: d.status.as_str().to_owned(),
                attempts: d.attempts,
                last_response: d.last_response,
                last_error: d.last_error,
            })
            .collect(),
    }
}

/// The event a URL names; an id that cannot be an event's is not found.
fn event_id(raw: &str) -> Result<EventId, ServiceError> {
    EventId::parse(raw).map_err(|_| ServiceError::EventNotFound(raw.to_owned()))
}

/// The tenant's events, newest first.
#[utoipa::path(get, operation_id = "listEvents", path = "/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, body = EventPage), (status = 400, body = Problem)))]
pub async fn list_events(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 100",
        ));
    }
    let events = state
        .services
        .events_page(
            &TenantId::from_stored(tenant.id),
            query.before.as_deref(),
            limit,
        )
        .await?;
    let next_before = (events.len() == limit as usize)
        .then(|| {
            events
                .last()
                .map(|e| EventId::from_stored(e.event.id.as_str()))
        })
        .flatten();
    let data = events.into_iter().map(view).collect();
    Ok(Json(EventPage { data, next_before }))
}

/// One event.
#[utoipa::path(get, operation_id = "getEvent", path = "/v1/events/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = EventView), (status = 404, body = Problem)))]
pub async fn get_event(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    let event = state
        .services
        .event_with_deliveries(&TenantId::from_stored(tenant.id), &event_id(&id)?)
        .await?;
    Ok(Json(view(event)))
}

/// Sends an event again to every enabled endpoint, with the same
/// `webhook-id`; at most `[limits] max_replays_per_event` times per event.
#[utoipa::path(post, operation_id = "replayEvent", path = "/v1/events/{id}/replay", tag = "events", params(("id" = String, Path)),
    responses((status = 202, body = Replay), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`too_many_replays`: the event was replayed the most times already")))]
pub async fn replay_event(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Replay>), ApiError> {
    let deliveries = state
        .services
        .replay_event(&TenantId::from_stored(tenant.id), &event_id(&id)?)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Replay { deliveries })))
}
