//! `/console/esims/{iccid}`: the QR code and install links to show a
//! customer, usage per bundle, top-up, and revoke after a confirmation.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simgate_api::views::EsimView;
use simgate_domain::entities::ProductFilter;
use simgate_domain::{BundleUsage, Iccid, OrderKind, ProductId, TenantId};
use simgate_service::{OrderRequest, OrderTarget};

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::pages::catalogue::new_idempotency_key;
use crate::session::{Console, Posted};

/// Top-up products offered on the page.
const TOPUP_CHOICES: u32 = 50;

fn iccid(raw: &str) -> Result<Iccid, ConsoleError> {
    Ok(Iccid::parse(raw)?)
}

/// One bundle's remaining data as a bar.
fn usage_bar(iccid: &Iccid, bundle: &BundleUsage) -> Markup {
    let state = format!("{:?}", bundle.state).to_lowercase();
    let (percent, text) = match (
        bundle.unlimited,
        bundle.initial_bytes,
        bundle.remaining_bytes,
    ) {
        (true, _, _) => (100, "unlimited".to_owned()),
        (false, Some(initial), Some(remaining)) if initial > 0 => (
            (remaining.min(initial) * 100 / initial) as u32,
            format!(
                "{} of {} MB left",
                remaining / 1_000_000,
                initial / 1_000_000
            ),
        ),
        _ => (0, "unknown".to_owned()),
    };
    let id = format!("usage-{}", bundle.bundle);
    html! {
        div.card {
            strong id=(id) { (bundle.bundle) } " · " (state)
            div.bar role="meter" aria-labelledby=(id) aria-valuemin="0" aria-valuemax="100" aria-valuenow=(percent) {
                span style=(format!("width: {percent}%")) {}
            }
            span.muted { (text) }
            @if let Some(ends) = bundle.ends_at { span.muted { " · ends " (ends.format("%Y-%m-%d")) } }
            " "
            a href=(revoke_url(iccid, &bundle.bundle)) { "Revoke " (bundle.bundle) "…" }
        }
    }
}

/// The confirmation page of revoking `bundle`.
fn revoke_url(iccid: &Iccid, bundle: &str) -> String {
    let query = serde_urlencoded::to_string([("bundle", bundle)]).unwrap_or_default();
    format!("/console/esims/{iccid}/revoke?{query}")
}

/// `GET /console/esims/{iccid}`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
    Path(raw): Path<String>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let iccid = iccid(&raw)?;
    let esim = state.services.esim(tenant, &iccid).await?;
    let provider = esim.provider;
    let view = EsimView::from(esim);
    // Usage is the provider's live answer: a provider that fails or cannot
    // tell leaves the rest of the page usable.
    let usage = state.services.usage(tenant, &iccid).await;
    let (products, _) = state
        .services
        .priced_products(
            &TenantId::from_stored(tenant.to_owned()),
            &ProductFilter {
                provider: Some(provider),
                limit: TOPUP_CHOICES,
                ..ProductFilter::default()
            },
        )
        .await?;
    let content = html! {
        div.stats {
            div.card.qr {
                h2 { "QR code" }
                img id="esim-qr" src=(format!("/console/esims/{iccid}/qr.svg")) alt=(format!("QR code installing eSIM {iccid}")) width="320" height="320";
            }
            div.card {
                h2 { "Install" }
                dl.facts {
                    dt { "Provider" } dd { (view.provider) }
                    dt { "Order" } dd { a href=(format!("/console/orders/{}", view.order_id)) { (view.order_id) } }
                    dt { "Activation code" } dd { code { (view.activation_code) } }
                    dt { "SM-DP+ address" } dd { (view.smdp_address) }
                    dt { "Matching id" } dd { (view.matching_id) }
                    @if let Some(code) = &view.confirmation_code { dt { "Confirmation code" } dd { (code) } }
                }
                p {
                    a href=(view.apple_install_url) { "Install on iPhone (iOS 17.4+)" } br;
                    a href=(view.android_install_url) { "Install on Android" }
                }
            }
        }
        h2 { "Usage" }
        @match &usage {
            Ok(bundles) if bundles.is_empty() => { p.muted { "No bundles yet." } }
            Ok(bundles) => { @for bundle in bundles { (usage_bar(&iccid, bundle)) } }
            Err(error) => { p.notice.bad { "Usage is unavailable: " (error) } }
        }
        h2 { "Top up" }
        form.card method="post" action=(format!("/console/esims/{iccid}/topup")) {
            (layout::csrf_field(&console))
            input type="hidden" name="idempotency_key" value=(new_idempotency_key());
            label for="topup-product" { "Bundle to add" }
            select id="topup-product" name="product_id" required {
                @for p in &products {
                    option value=(p.product.id) { (p.product.name) " · " (p.price) }
                }
            }
            p { button type="submit" { "Top up" } }
        }
    };
    layout::page(
        &state,
        &console,
        Nav::Orders,
        &format!("eSIM {iccid}"),
        content,
    )
    .await
}

/// `GET /console/esims/{iccid}/qr.svg`: the same QR code as the API's.
pub(crate) async fn qr(
    State(state): State<ConsoleState>,
    console: Console,
    Path(raw): Path<String>,
) -> Result<Response, ConsoleError> {
    let tenant = console.tenant()?;
    let esim = state.services.esim(tenant, &iccid(&raw)?).await?;
    let svg = simgate_api::qr::svg_markup(&esim.install.activation.to_string())?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        svg,
    )
        .into_response())
}

/// A top-up as posted.
#[derive(Deserialize)]
pub(crate) struct TopUpForm {
    product_id: String,
    idempotency_key: String,
}

/// `POST /console/esims/{iccid}/topup`: orders the bundle onto the eSIM.
pub(crate) async fn topup(
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
    posted: Posted<TopUpForm>,
) -> Result<Redirect, ConsoleError> {
    let tenant = posted.console.tenant()?;
    let outcome = state
        .services
        .place_order(OrderRequest {
            tenant_id: tenant.to_owned(),
            target: OrderTarget::Product(ProductId::parse(&posted.form.product_id)?),
            quantity: 1,
            kind: OrderKind::TopUp {
                iccid: iccid(&raw)?,
            },
            idempotency_key: Some(posted.form.idempotency_key).filter(|k| !k.is_empty()),
        })
        .await?;
    Ok(Redirect::to(&format!(
        "/console/orders/{}",
        outcome.order.id
    )))
}

/// Which bundle the confirmation page is about.
#[derive(Deserialize)]
pub(crate) struct BundleQuery {
    bundle: String,
}

/// `GET /console/esims/{iccid}/revoke?bundle=…`: asks before revoking,
/// since a revoke cannot be undone.
pub(crate) async fn confirm_revoke(
    State(state): State<ConsoleState>,
    console: Console,
    Path(raw): Path<String>,
    axum::extract::Query(query): axum::extract::Query<BundleQuery>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let iccid = iccid(&raw)?;
    state.services.esim(tenant, &iccid).await?;
    let content = html! {
        form.card method="post" action=(format!("/console/esims/{iccid}/revoke")) {
            (layout::csrf_field(&console))
            input type="hidden" name="bundle" value=(query.bundle);
            p { "Revoke bundle " strong { (query.bundle) } " from eSIM " (iccid) "? The customer loses its remaining data. This cannot be undone." }
            p {
                input id="refund" type="checkbox" name="refund" value="true";
                label for="refund" style="display:inline" { " Refund it to your balance with the provider" }
            }
            p {
                button.danger type="submit" { "Revoke" } " "
                a.button.secondary href=(format!("/console/esims/{iccid}")) { "Cancel" }
            }
        }
    };
    layout::page(&state, &console, Nav::Orders, "Revoke a bundle", content).await
}

/// A confirmed revoke.
#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    bundle: String,
    #[serde(default)]
    refund: Option<String>,
}

/// `POST /console/esims/{iccid}/revoke`.
pub(crate) async fn revoke(
    State(state): State<ConsoleState>,
    Path(raw): Path<String>,
    posted: Posted<RevokeForm>,
) -> Result<Redirect, ConsoleError> {
    let tenant = posted.console.tenant()?;
    let iccid = iccid(&raw)?;
    state
        .services
        .revoke(
            tenant,
            &iccid,
            &posted.form.bundle,
            posted.form.refund.as_deref() == Some("true"),
        )
        .await?;
    Ok(Redirect::to(&format!("/console/esims/{iccid}")))
}
