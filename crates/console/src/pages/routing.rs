//! `/console/routing`: the tenant's routing policy, edited as a whole (the
//! PUT semantics of `/v1/routing`, through the same service call) with each
//! refusal beside its field, and for one offer the order its candidates
//! would be tried in now and why (what `simgate routing show` prints).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simgate_domain::orchestration::{
    CountryRouting, OfferId, RoutingPolicy, RoutingStrategy, Verdict,
};
use simgate_domain::{CountryCode, ProviderId, TenantId};

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::pages::catalogue::new_idempotency_key;
use crate::session::{Console, Posted};

/// The editor's fields as posted (and as shown again after a refusal).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RoutingForm {
    /// `cheapest`, `priority` or `weighted`.
    #[serde(default)]
    strategy: String,
    /// Provider slugs, comma-separated, in priority order.
    #[serde(default)]
    providers: String,
    /// `provider=weight` pairs, comma-separated.
    #[serde(default)]
    weights: String,
    /// Provider slugs, comma-separated.
    #[serde(default)]
    exclude: String,
    /// The per-country overrides as the JSON object `/v1/routing` takes.
    #[serde(default)]
    countries: String,
}

/// Field errors keyed by the form field they belong to.
type FieldErrors = HashMap<&'static str, String>;

/// Provider slugs, comma-separated, or the message for the field.
fn provider_list(raw: &str) -> Result<Vec<ProviderId>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| ProviderId::from_str(s).map_err(|e| e.to_string()))
        .collect()
}

fn join(providers: &[ProviderId]) -> String {
    providers
        .iter()
        .map(ProviderId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl RoutingForm {
    fn from_policy(policy: &RoutingPolicy) -> Self {
        Self {
            strategy: policy.strategy.to_string(),
            providers: join(&policy.providers),
            weights: policy
                .weights
                .iter()
                .map(|(p, w)| format!("{p}={w}"))
                .collect::<Vec<_>>()
                .join(", "),
            exclude: join(&policy.exclude),
            countries: if policy.countries.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&policy.countries).unwrap_or_default()
            },
        }
    }

    /// The policy the fields describe, or the message for each field that
    /// does not parse.
    fn policy(&self) -> Result<RoutingPolicy, FieldErrors> {
        let mut errors = FieldErrors::new();
        let strategy = match self.strategy.as_str() {
            "priority" => RoutingStrategy::Priority,
            "weighted" => RoutingStrategy::Weighted,
            _ => RoutingStrategy::Cheapest,
        };
        let providers = provider_list(&self.providers)
            .map_err(|e| errors.insert("providers", e))
            .ok();
        let exclude = provider_list(&self.exclude)
            .map_err(|e| errors.insert("exclude", e))
            .ok();
        let weights = self
            .weights
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|pair| {
                let (provider, weight) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("'{pair}' is not provider=weight"))?;
                let provider = ProviderId::from_str(provider.trim()).map_err(|e| e.to_string())?;
                let weight = weight
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| format!("'{}' is not a whole number", weight.trim()))?;
                Ok((provider, weight))
            })
            .collect::<Result<BTreeMap<ProviderId, u32>, String>>()
            .map_err(|e| errors.insert("weights", e))
            .ok();
        let countries = if self.countries.trim().is_empty() {
            Some(BTreeMap::new())
        } else {
            serde_json::from_str::<BTreeMap<CountryCode, CountryRouting>>(&self.countries)
                .map_err(|e| {
                    errors.insert("countries", format!("not a valid object of overrides: {e}"))
                })
                .ok()
        };
        match (providers, weights, exclude, countries) {
            (Some(providers), Some(weights), Some(exclude), Some(countries))
                if errors.is_empty() =>
            {
                Ok(RoutingPolicy {
                    strategy,
                    providers,
                    weights,
                    exclude,
                    countries,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Where a refusal naming `field` (as the API names it) is shown.
fn field_slot(field: &str) -> &'static str {
    match field {
        f if f.starts_with("countries") => "countries",
        f if f.starts_with("weights") => "weights",
        f if f.starts_with("exclude") => "exclude",
        f if f.starts_with("strategy") => "strategy",
        _ => "providers",
    }
}

/// One labelled field with its error beside it.
fn field(id: &'static str, label: &str, value: &str, errors: &FieldErrors) -> Markup {
    let error = errors.get(id);
    let error_id = format!("{id}-error");
    html! {
        label for=(id) { (label) }
        @if id == "countries" {
            textarea id=(id) name=(id) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| error_id.as_str())] { (value) }
        } @else {
            input id=(id) name=(id) value=(value) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| error_id.as_str())];
        }
        @if let Some(error) = error { span.field-error id=(error_id) role="alert" { (error) } }
    }
}

/// The query of `GET /console/routing`: after a save, and the offer (or the
/// country whose offers to list) to explain.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RoutingQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    offer: String,
    #[serde(default)]
    country: String,
}

/// The offers of a country to pick from, and the decision for the offer
/// asked about, with a form to order it (routing then picks the candidate,
/// failing over as the plan shows).
async fn explain(
    state: &ConsoleState,
    console: &Console,
    tenant: &TenantId,
    query: &RoutingQuery,
) -> Result<Markup, ConsoleError> {
    let country = Some(query.country.trim())
        .filter(|c| !c.is_empty())
        .map(CountryCode::parse)
        .transpose()?;
    let offers = match country {
        Some(country) => state.services.offers(Some(country)).await?,
        None => Vec::new(),
    };
    let offer = query.offer.trim();
    let decision = if offer.is_empty() {
        None
    } else {
        let id = OfferId::parse(offer).map_err(|e| {
            simgate_api::problem::ApiError::not_found("offer_not_found", e.to_string())
        })?;
        Some((state.services.route_offer(tenant, &id).await?, id))
    };
    Ok(html! {
        section.card aria-labelledby="explain-title" {
            h2 id="explain-title" { "Which candidate would be chosen now" }
            form method="get" action="/console/routing" {
                label for="country" { "Country (ISO code) to list its offers" }
                input id="country" name="country" value=(query.country);
                label for="offer" { "or an offer id" }
                input id="offer" name="offer" value=(query.offer);
                p { button.secondary id="explain" type="submit" { "Show" } }
            }
            @if !offers.is_empty() {
                ul.offers {
                    @for o in &offers {
                        li {
                            a href=(format!("/console/routing?country={}&offer={}", query.country.trim(), o.id.as_str())) {
                                (o.id.as_str())
                            }
                            " · " (o.key.countries.iter().map(CountryCode::as_str).collect::<Vec<_>>().join(","))
                            " · " (o.key.data_mb.map_or_else(|| "unlimited".to_owned(), |mb| format!("{mb} MB")))
                            " · " (o.key.validity_days) " days · " (o.candidates.len()) " candidates"
                        }
                    }
                }
            }
            @if let Some((decision, offer_id)) = &decision {
                @let plan = &decision.plan;
                p id="route-strategy" {
                    "Strategy " strong { (plan.strategy) }
                    @if let Some(country) = plan.country_override { " (override for " (country) ")" }
                }
                table id="route-plan" {
                    thead { tr { th { "Decision" } th { "Product" } } }
                    tbody {
                        @for e in plan.order.iter().filter_map(|&i| plan.explanations.get(i))
                            .chain(plan.explanations.iter().filter(|e| matches!(e.verdict, Verdict::Skipped(_)))) {
                            tr data-provider=(e.provider.as_str()) {
                                td { (e) }
                                td { (decision.candidates.get(e.candidate).map(|c| c.product_id.to_string()).unwrap_or_default()) }
                            }
                        }
                        @for (candidate, why) in &decision.unroutable {
                            tr data-provider=(candidate.provider.as_str()) {
                                td { "skip " (candidate.provider) ": " (why) }
                                td { (candidate.product_id) }
                            }
                        }
                    }
                }
                @if plan.order.is_empty() {
                    p.notice.bad role="alert" { "No candidate would be tried: an order of this offer would fail now." }
                } @else {
                    form id="order-offer" method="post" action="/console/orders" {
                        (layout::csrf_field(console))
                        input type="hidden" name="offer_id" value=(offer_id.as_str());
                        input type="hidden" name="idempotency_key" value=(new_idempotency_key());
                        label for="offer-quantity" { "Quantity" }
                        input id="offer-quantity" name="quantity" type="number" min="1" max="100" value="1" style="width: 4.5rem";
                        " "
                        button type="submit" { "Order this offer" }
                    }
                }
            }
        }
    })
}

async fn editor(
    state: &ConsoleState,
    console: &Console,
    form: &RoutingForm,
    errors: &FieldErrors,
    query: &RoutingQuery,
) -> Result<Markup, ConsoleError> {
    let tenant = TenantId::from_stored(console.tenant()?.to_owned());
    let explanation = explain(state, console, &tenant, query).await?;
    let content = html! {
        @if query.saved.is_some() { p.notice role="status" { "Routing saved. Offer orders are routed by it from now on." } }
        @if !errors.is_empty() { p.notice.bad role="alert" { "Nothing was saved: fix the fields marked below." } }
        form.card method="post" action="/console/routing" novalidate {
            (layout::csrf_field(console))
            label for="strategy" { "Strategy" }
            select id="strategy" name="strategy" {
                @for s in ["cheapest", "priority", "weighted"] {
                    option value=(s) selected[form.strategy == s] { (s) }
                }
            }
            @if let Some(error) = errors.get("strategy") { span.field-error id="strategy-error" role="alert" { (error) } }
            (field("providers", "Providers in priority order (comma-separated, e.g. esim-go, onsim)", &form.providers, errors))
            (field("weights", "Weights for weighted routing (e.g. esim-go=3, onsim=1)", &form.weights, errors))
            (field("exclude", "Providers never used (comma-separated)", &form.exclude, errors))
            (field("countries", "Per-country overrides (JSON object, e.g. {\"JP\": {\"strategy\": \"priority\", \"providers\": [\"onsim\"]}})", &form.countries, errors))
            p { button id="save-routing" type="submit" { "Save routing" } }
        }
        (explanation)
    };
    layout::page(state, console, Nav::Routing, "Routing", content).await
}

/// `GET /console/routing`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
    Query(query): Query<RoutingQuery>,
) -> Result<Markup, ConsoleError> {
    let tenant = TenantId::from_stored(console.tenant()?.to_owned());
    let form = RoutingForm::from_policy(&state.services.routing_policy(&tenant).await?);
    editor(&state, &console, &form, &FieldErrors::new(), &query).await
}

/// `POST /console/routing`: replaces the policy, or shows the form again
/// (422) with each refusal beside its field.
pub(crate) async fn save(
    State(state): State<ConsoleState>,
    posted: Posted<RoutingForm>,
) -> Result<Response, ConsoleError> {
    let Posted { console, form } = posted;
    let tenant = TenantId::from_stored(console.tenant()?.to_owned());
    let errors = match form.policy() {
        Err(errors) => errors,
        Ok(policy) => match state.services.set_routing_policy(&tenant, policy).await {
            Ok(_) => return Ok(Redirect::to("/console/routing?saved=1").into_response()),
            Err(error) => {
                let error = simgate_api::problem::ApiError::from(error);
                if error.status() != StatusCode::UNPROCESSABLE_ENTITY {
                    return Err(error.into());
                }
                let slot = error.field().map_or("providers", field_slot);
                HashMap::from([(slot, error.detail().to_owned())])
            }
        },
    };
    let page = editor(&state, &console, &form, &errors, &RoutingQuery::default()).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
