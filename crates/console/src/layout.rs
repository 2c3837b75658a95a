//! The page shell every console page shares: head, navigation, who is
//! signed in (with the operator's tenant switch) and sign-out.

use maud::{DOCTYPE, Markup, html};
use simgate_domain::OrderStatus;

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::session::Console;

/// The sections of the navigation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Dashboard,
    Orders,
    Catalogue,
    Pricing,
    Routing,
    Providers,
    Account,
    SimOrders,
    Lines,
    Webhooks,
    Faults,
}

const NAV: [(Nav, &str, &str); 10] = [
    (Nav::Dashboard, "/console/", "Dashboard"),
    (Nav::Orders, "/console/orders", "Orders"),
    (Nav::Catalogue, "/console/catalogue", "Catalogue"),
    (Nav::Pricing, "/console/pricing", "Pricing"),
    (Nav::Routing, "/console/routing", "Routing"),
    (Nav::Providers, "/console/providers", "Providers"),
    (Nav::Account, "/console/account", "Account"),
    (Nav::SimOrders, "/console/sim-orders", "SIM orders"),
    (Nav::Lines, "/console/lines", "Lines"),
    (Nav::Webhooks, "/console/webhooks", "Webhooks"),
];

/// A whole document around `content`, without navigation (sign-in, errors).
pub(crate) fn bare(title: &str, content: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · simgate console" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/htmx.min.js" defer {}
            }
            body { (content) }
        }
    }
}

/// A signed-in page: navigation with `active` marked, the tenant shown
/// (a select of every tenant for the operator), sign-out, then `content`.
pub(crate) async fn page(
    state: &ConsoleState,
    console: &Console,
    active: Nav,
    title: &str,
    content: Markup,
) -> Result<Markup, ConsoleError> {
    let current = console.session.tenant_id.as_deref();
    let (tenants, tenant_name) = match (console.session.operator, current) {
        (true, _) => (state.services.list_tenants().await?, None),
        (false, Some(id)) => (Vec::new(), Some(state.services.tenant(id).await?.name)),
        (false, None) => (Vec::new(), None),
    };
    let csrf = console.csrf();
    let header = html! {
        header.top {
            a.brand href="/console/" { "simgate console" }
            nav aria-label="Main" {
                ul {
                    @for (nav, href, label) in NAV {
                        li {
                            @if nav == active {
                                a href=(href) aria-current="page" { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                        }
                    }
                    // Sandbox only, and for the operator only: faults hit every tenant.
                    @if state.simulators.is_some() && console.session.operator {
                        li { a href="/console/faults" aria-current=[(active == Nav::Faults).then_some("page")] { "Faults" } }
                    }
                }
            }
            div.who {
                @if console.session.operator {
                    form method="post" action="/console/tenant" {
                        input type="hidden" name="csrf_token" value=(csrf);
                        label for="tenant-switch" { "Operator, viewing" }
                        select id="tenant-switch" name="tenant_id" {
                            @if current.is_none() {
                                option value="" selected { "choose a tenant" }
                            }
                            @for tenant in &tenants {
                                option value=(tenant.id) selected[current == Some(tenant.id.as_str())] {
                                    (tenant.name)
                                }
                            }
                        }
                        button.secondary type="submit" { "Switch" }
                    }
                } @else {
                    span { "Tenant " strong id="tenant-name" { (tenant_name.unwrap_or_default()) } }
                }
                form method="post" action="/console/logout" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    button.secondary type="submit" { "Sign out" }
                }
            }
        }
    };
    Ok(bare(
        title,
        &html! {
            (header)
            main id="main" {
                h1 { (title) }
                (content)
            }
        },
    ))
}

/// An order status, styled by outcome.
pub(crate) fn status(status: OrderStatus) -> Markup {
    html! {
        span class=(format!("status status-{}", status.as_str())) data-status=(status.as_str()) {
            (status.as_str())
        }
    }
}

/// The hidden CSRF field of a session's forms.
pub(crate) fn csrf_field(console: &Console) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(console.csrf()); }
}
