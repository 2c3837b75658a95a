//! `/console/webhooks`: the tenant's endpoints, its recent events with
//! each delivery's attempts and outcome, and replay.

use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use simgate_domain::entities::DeliveryStatus;
use simgate_domain::{EventId, TenantId};
use simgate_service::ServiceError;

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::session::{Console, Posted};

/// Events shown.
const EVENTS_SHOWN: u32 = 50;

fn delivery_status(status: DeliveryStatus) -> String {
    format!("{status:?}").to_lowercase()
}

/// `GET /console/webhooks`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let endpoints = state.services.endpoints(tenant).await?;
    let events = state
        .services
        .events_page(
            &TenantId::from_stored(tenant.to_owned()),
            None,
            EVENTS_SHOWN,
        )
        .await?;
    let content = html! {
        h2 { "Endpoints" }
        @if endpoints.is_empty() {
            p.muted { "No endpoints. Register one with POST /v1/webhook-endpoints." }
        } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "Endpoint" } th scope="col" { "URL" } th scope="col" { "State" } } }
                tbody {
                    @for e in &endpoints {
                        tr {
                            td { (e.id) }
                            td { (e.url) }
                            td {
                                @if e.enabled { "enabled" } @else {
                                    "disabled" @if let Some(why) = &e.disabled_reason { ": " (why) }
                                }
                            }
                        }
                    }
                }
            } }
        }
        h2 { "Recent events" }
        @if events.is_empty() {
            p.muted { "No events yet." }
        } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "Event" } th scope="col" { "Type" } th scope="col" { "When" } th scope="col" { "Deliveries (attempts, last answer)" } th scope="col" { "Replay" } } }
                tbody {
                    @for e in &events {
                        tr {
                            td { (e.event.id) }
                            td { (e.event.event_type) }
                            td { (e.event.created_at.format("%Y-%m-%d %H:%M:%S")) }
                            td {
                                @if e.deliveries.is_empty() { span.muted { "none" } }
                                ul {
                                    @for d in &e.deliveries {
                                        li {
                                            (d.endpoint_id) ": " (delivery_status(d.status)) ", " (d.attempts) " attempts"
                                            @if let Some(code) = d.last_response { ", HTTP " (code) }
                                            @if let Some(error) = &d.last_error { ", " (error) }
                                        }
                                    }
                                }
                            }
                            td {
                                form method="post" action=(format!("/console/webhooks/events/{}/replay", e.event.id)) {
                                    (layout::csrf_field(&console))
                                    button.secondary type="submit" aria-label=(format!("Replay event {}", e.event.id)) { "Replay" }
                                }
                            }
                        }
                    }
                }
            } }
        }
    };
    layout::page(&state, &console, Nav::Webhooks, "Webhooks", content).await
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub(crate) struct ReplayForm {}

/// `POST /console/webhooks/events/{id}/replay`: new deliveries of the
/// same event to every enabled endpoint.
pub(crate) async fn replay(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    posted: Posted<ReplayForm>,
) -> Result<Redirect, ConsoleError> {
    let tenant = TenantId::from_stored(posted.console.tenant()?.to_owned());
    let event = EventId::parse(&id).map_err(|_| ServiceError::EventNotFound(id.clone()))?;
    state.services.replay_event(&tenant, &event).await?;
    Ok(Redirect::to("/console/webhooks"))
}
