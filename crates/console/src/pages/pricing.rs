//! `/console/pricing`: the tenant's pricing rules, edited as a whole (the
//! PUT semantics of `/v1/pricing`), with each refusal shown beside the
//! field it is about.

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde::Deserialize;
use simgate_domain::orchestration::{PricingOverride, PricingRules, RoundTo};
use simgate_domain::{Currency, TenantId};

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::session::{Console, Posted};

/// The editor's fields as posted (and as shown again after a refusal).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PricingForm {
    #[serde(default)]
    currency: String,
    #[serde(default)]
    markup_percent: String,
    #[serde(default)]
    markup_fixed: String,
    /// `none`, `step` or `ending`.
    #[serde(default)]
    round_kind: String,
    #[serde(default)]
    round_value: String,
    /// The overrides as the JSON array `/v1/pricing` takes.
    #[serde(default)]
    overrides: String,
}

impl PricingForm {
    fn from_rules(rules: &PricingRules) -> Self {
        let (round_kind, round_value) = match rules.round_to {
            None => ("none", String::new()),
            Some(RoundTo::Step(v)) => ("step", v.to_string()),
            Some(RoundTo::Ending(v)) => ("ending", v.to_string()),
        };
        Self {
            currency: rules.currency.to_string(),
            markup_percent: rules.markup_percent.to_string(),
            markup_fixed: rules.markup_fixed.to_string(),
            round_kind: round_kind.to_owned(),
            round_value,
            overrides: if rules.overrides.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&rules.overrides).unwrap_or_default()
            },
        }
    }

    /// The rules the fields describe, or the message for each field that
    /// does not parse.
    fn rules(&self) -> Result<PricingRules, HashMap<&'static str, String>> {
        let mut errors = HashMap::new();
        let decimal = |raw: &str, field: &'static str, errors: &mut HashMap<_, _>| {
            let raw = raw.trim();
            if raw.is_empty() {
                return Some(Decimal::ZERO);
            }
            Decimal::from_str(raw)
                .map_err(|_| errors.insert(field, format!("'{raw}' is not a number")))
                .ok()
        };
        let currency = Currency::parse(&self.currency)
            .map_err(|e| errors.insert("currency", e.to_string()))
            .ok();
        let markup_percent = decimal(&self.markup_percent, "markup_percent", &mut errors);
        let markup_fixed = decimal(&self.markup_fixed, "markup_fixed", &mut errors);
        let round_to = match self.round_kind.as_str() {
            "step" | "ending" => {
                let value = Decimal::from_str(self.round_value.trim())
                    .map_err(|_| {
                        errors.insert(
                            "round_to",
                            "give the rounding amount as a number".to_owned(),
                        )
                    })
                    .ok();
                value.map(|v| {
                    if self.round_kind == "step" {
                        RoundTo::Step(v)
                    } else {
                        RoundTo::Ending(v)
                    }
                })
            }
            _ => None,
        };
        let overrides = if self.overrides.trim().is_empty() {
            Some(Vec::new())
        } else {
            serde_json::from_str::<Vec<PricingOverride>>(&self.overrides)
                .map_err(|e| {
                    errors.insert("overrides", format!("not a valid list of overrides: {e}"))
                })
                .ok()
        };
        match (currency, markup_percent, markup_fixed, overrides) {
            (Some(currency), Some(markup_percent), Some(markup_fixed), Some(overrides))
                if errors.is_empty() =>
            {
                Ok(PricingRules {
                    currency,
                    markup_percent,
                    markup_fixed,
                    round_to,
                    overrides,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Where a refusal naming `field` is shown.
fn field_slot(field: &str) -> &'static str {
    match field {
        f if f.starts_with("overrides") => "overrides",
        f if f.starts_with("round_to") => "round_to",
        "currency" => "currency",
        "markup_fixed" => "markup_fixed",
        _ => "markup_percent",
    }
}

/// One labelled text field with its error beside it.
pub(crate) fn text_field(
    id: &'static str,
    label: &str,
    value: &str,
    errors: &HashMap<&'static str, String>,
) -> Markup {
    typed_field(id, label, value, "text", errors)
}

/// One labelled input of HTML type `kind` (`email`, `tel`: the right
/// keyboard on a phone) with its error beside it.
pub(crate) fn typed_field(
    id: &'static str,
    label: &str,
    value: &str,
    kind: &str,
    errors: &HashMap<&'static str, String>,
) -> Markup {
    let error = errors.get(id);
    let error_id = format!("{id}-error");
    html! {
        label for=(id) { (label) }
        input id=(id) name=(id) type=(kind) value=(value) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| error_id.as_str())];
        @if let Some(error) = error { span.field-error id=(error_id) role="alert" { (error) } }
    }
}

async fn editor(
    state: &ConsoleState,
    console: &Console,
    form: &PricingForm,
    errors: &HashMap<&'static str, String>,
    saved: bool,
) -> Result<Markup, ConsoleError> {
    let round_error = errors.get("round_to");
    let overrides_error = errors.get("overrides");
    let content = html! {
        @if saved { p.notice role="status" { "Pricing saved. New prices apply to orders from now on." } }
        @if !errors.is_empty() { p.notice.bad role="alert" { "Nothing was saved: fix the fields marked below." } }
        form.card method="post" action="/console/pricing" novalidate {
            (layout::csrf_field(console))
            (text_field("currency", "Currency (ISO 4217, prices are shown and charged in it)", &form.currency, errors))
            (text_field("markup_percent", "Markup in percent (0 to 1000)", &form.markup_percent, errors))
            (text_field("markup_fixed", "Fixed markup, in the currency, added after the percentage", &form.markup_fixed, errors))
            label for="round_kind" { "Rounding" }
            select id="round_kind" name="round_kind" {
                option value="none" selected[form.round_kind == "none" || form.round_kind.is_empty()] { "up to the next minor unit" }
                option value="step" selected[form.round_kind == "step"] { "up to a multiple of" }
                option value="ending" selected[form.round_kind == "ending"] { "up to a price ending in" }
            }
            label for="round_value" { "Rounding amount (e.g. 0.05, or 0.99 for an ending)" }
            input id="round_value" name="round_value" value=(form.round_value)
                aria-invalid=[round_error.map(|_| "true")] aria-describedby=[round_error.map(|_| "round_to-error")];
            @if let Some(error) = round_error { span.field-error id="round_to-error" role="alert" { (error) } }
            label for="overrides" { "Overrides (JSON list, e.g. [{\"country\": \"JP\", \"markup_percent\": \"30\"}])" }
            textarea id="overrides" name="overrides"
                aria-invalid=[overrides_error.map(|_| "true")] aria-describedby=[overrides_error.map(|_| "overrides-error")] { (form.overrides) }
            @if let Some(error) = overrides_error { span.field-error id="overrides-error" role="alert" { (error) } }
            p { button id="save-pricing" type="submit" { "Save pricing" } }
        }
    };
    layout::page(state, console, Nav::Pricing, "Pricing", content).await
}

/// After a save: `?saved=1` shows the confirmation.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /console/pricing`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
    axum::extract::Query(query): axum::extract::Query<SavedQuery>,
) -> Result<Markup, ConsoleError> {
    let tenant = TenantId::from_stored(console.tenant()?.to_owned());
    let form = match state.services.pricing(&tenant).await? {
        Some(rules) => PricingForm::from_rules(&rules),
        None => PricingForm {
            currency: "USD".to_owned(),
            markup_percent: "0".to_owned(),
            markup_fixed: "0".to_owned(),
            ..PricingForm::default()
        },
    };
    editor(
        &state,
        &console,
        &form,
        &HashMap::new(),
        query.saved.is_some(),
    )
    .await
}

/// `POST /console/pricing`: replaces the rules, or shows the form again
/// (422) with each refusal beside its field.
pub(crate) async fn save(
    State(state): State<ConsoleState>,
    posted: Posted<PricingForm>,
) -> Result<Response, ConsoleError> {
    let Posted { console, form } = posted;
    let tenant = TenantId::from_stored(console.tenant()?.to_owned());
    let errors = match form.rules() {
        Err(errors) => errors,
        Ok(rules) => match state.services.set_pricing(&tenant, rules).await {
            Ok(_) => return Ok(Redirect::to("/console/pricing?saved=1").into_response()),
            Err(error) => {
                let error = simgate_api::problem::ApiError::from(error);
                if error.status() != StatusCode::UNPROCESSABLE_ENTITY {
                    return Err(error.into());
                }
                let slot = error.field().map_or("overrides", field_slot);
                HashMap::from([(slot, error.detail().to_owned())])
            }
        },
    };
    let page = editor(&state, &console, &form, &errors, false).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
