//! The operator console (`/console/`): sign-in, sessions and CSRF over
//! plain HTTP, and the whole flow of a support agent in a real browser
//! (Debian's headless Chromium, driven through its chromedriver).

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::helpers::{OPERATOR_KEY, Options, TestApp, eventually};

/// Where Debian's `chromium-driver` package puts chromedriver; `CHROMEDRIVER` overrides it.
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Debian's `chromium` package puts the browser; `CHROMIUM` overrides it.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// The whole browser scenario must finish within this.
pub(crate) const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// A client that shows redirects instead of following them, so the test
/// sees each answer's cookies.
pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// What browsers send for an HTML form.
const FORM: &str = "application/x-www-form-urlencoded";

/// A form body as a browser encodes it.
fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The `Set-Cookie` line of cookie `name`.
fn set_cookie_line(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value of cookie `name` set by `response`.
fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    let line = set_cookie_line(response, name)?;
    let pair = line.split(';').next()?;
    Some(pair.split_once('=')?.1.to_owned())
}

/// The value of the first `csrf_token` field of a page.
pub(crate) fn csrf_in(html: &str) -> String {
    let at = html
        .find(r#"name="csrf_token" value=""#)
        .expect("a form with a CSRF token");
    let rest = &html[at + r#"name="csrf_token" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The value of the `<option>` showing `label`.
pub(crate) fn option_value(html: &str, label: &str) -> String {
    let end = html
        .find(&format!(">{label}</option>"))
        .expect("the option");
    let start = html[..end].rfind(r#"value=""#).unwrap() + r#"value=""#.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A signed-in visitor over plain HTTP.
pub(crate) struct Visitor {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Visitor {
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, FORM)
            .body(form_body(form))
            .send()
            .await
            .unwrap()
    }

    /// The same browser (the same session cookie) visiting the app at
    /// `address`: another instance, or the app started again.
    pub(crate) fn visiting(&self, address: &str) -> Self {
        Self {
            client: self.client.clone(),
            base: address.to_owned(),
            cookie: self.cookie.clone(),
        }
    }

    /// This session's CSRF token, read off a page's forms.
    pub(crate) async fn csrf(&self) -> String {
        csrf_in(&self.get("/console/orders").await.text().await.unwrap())
    }
}

/// Posts the sign-in form with `key` (after loading it for its token).
pub(crate) async fn post_login(
    app: &TestApp,
    key: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    post_login_at(&app.address, key, headers).await
}

/// [`post_login`] to the app at `address`.
async fn post_login_at(address: &str, key: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = no_redirects();
    let form = client
        .get(format!("{address}/console/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let token = cookie_value(&form, "simgate_login_csrf").expect("a double-submit cookie");
    assert_eq!(csrf_in(&form.text().await.unwrap()), token);
    let mut request = client
        .post(format!("{address}/console/login"))
        .header(COOKIE, format!("simgate_login_csrf={token}"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[
            ("api_key", key),
            ("csrf_token", token.as_str()),
        ]));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

pub(crate) async fn sign_in(app: &TestApp, key: &str) -> Visitor {
    sign_in_at(&app.address, key).await
}

/// Signs in to the app at `address` (`http://host:port`) with `key`.
pub(crate) async fn sign_in_at(address: &str, key: &str) -> Visitor {
    let response = post_login_at(address, key, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = cookie_value(&response, "simgate_session").expect("a session cookie");
    Visitor {
        client: no_redirects(),
        base: address.to_owned(),
        cookie: format!("simgate_session={session}"),
    }
}

#[tokio::test]
async fn a_bad_key_shows_an_error_and_opens_no_session() {
    let app = TestApp::spawn().await;
    let response = post_login(&app, "sk_live_not_a_key", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie_line(&response, "simgate_session").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("This key is not valid"), "{html}");
    assert!(html.contains(r#"<label for="api_key">"#), "{html}");

    // Without a session, pages send the visitor to the sign-in form.
    let page = no_redirects()
        .get(format!("{}/console/orders", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/console/login");
}

#[tokio::test]
async fn session_cookie_is_http_only_strict_scoped_and_secure_behind_tls() {
    let app = TestApp::spawn().await;
    let plain = post_login(&app, &app.api_key, &[]).await;
    let line = set_cookie_line(&plain, "simgate_session").unwrap();
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(line.contains(flag), "{flag} missing from {line}");
    }
    assert!(!line.contains("Secure"), "plain HTTP: {line}");

    let tls = post_login(&app, &app.api_key, &[("x-forwarded-proto", "https")]).await;
    let line = set_cookie_line(&tls, "simgate_session").unwrap();
    assert!(line.contains("; Secure"), "behind TLS: {line}");
}

#[tokio::test]
async fn posts_without_the_session_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    // The sign-in form itself: no double-submit cookie, or a different one.
    let client = no_redirects();
    let login = client
        .post(format!("{}/console/login", app.address))
        .header(COOKIE, "simgate_login_csrf=aaaa")
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[
            ("api_key", app.api_key.as_str()),
            ("csrf_token", "bbbb"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie_line(&login, "simgate_session").is_none());

    let visitor = sign_in(&app, &app.api_key).await;
    let fields = [("currency", "USD"), ("markup_percent", "10")];
    let missing = visitor.post("/console/pricing", &fields).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = visitor
        .post(
            "/console/pricing",
            &[
                ("csrf_token", "0000"),
                ("currency", "USD"),
                ("markup_percent", "10"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let routing = visitor
        .post("/console/routing", &[("strategy", "priority")])
        .await;
    assert_eq!(routing.status(), StatusCode::FORBIDDEN);
    let logout = visitor.post("/console/logout", &[]).await;
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    // Nothing was stored by the refused forms.
    let rules = app.get("/v1/pricing").await;
    assert_eq!(rules.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get_json("/v1/routing").await["strategy"], "cheapest");

    // With the token, signing out ends the session.
    let csrf = visitor.csrf().await;
    let logout = visitor
        .post("/console/logout", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    let after = visitor.get("/console/orders").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()[LOCATION], "/console/login");
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_order_and_the_operator_switches() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("FR").await;
    let order = app.order(&product, "console-isolation").await;
    let id = order["id"].as_str().unwrap();

    let (other_id, other_key) =
        crate::helpers::funded_tenant(app.app.store(), "other reseller").await;
    let other = sign_in(&app, &other_key).await;
    let detail = other.get(&format!("/console/orders/{id}")).await;
    assert_eq!(detail.status(), StatusCode::NOT_FOUND);
    let list = other
        .get(&format!("/console/orders?q={id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("No orders match.") && !list.contains(&format!("/console/orders/{id}")),
        "{list}"
    );

    let owner = sign_in(&app, &app.api_key).await;
    let detail = owner.get(&format!("/console/orders/{id}")).await;
    assert_eq!(detail.status(), StatusCode::OK);
    assert!(detail.text().await.unwrap().contains(id));

    // The operator sees every tenant, one at a time.
    let operator = sign_in(&app, OPERATOR_KEY).await;
    let home = operator.get("/console/").await.text().await.unwrap();
    assert!(
        home.contains("other reseller") && home.contains("test reseller"),
        "{home}"
    );
    let csrf = csrf_in(&home);
    let switched = operator
        .post(
            "/console/tenant",
            &[("csrf_token", &csrf), ("tenant_id", &other_id)],
        )
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    let detail = operator.get(&format!("/console/orders/{id}")).await;
    assert_eq!(detail.status(), StatusCode::NOT_FOUND);
    let owner_id = option_value(&home, "test reseller");
    operator
        .post(
            "/console/tenant",
            &[("csrf_token", &csrf), ("tenant_id", &owner_id)],
        )
        .await;
    let detail = operator.get(&format!("/console/orders/{id}")).await;
    assert_eq!(detail.status(), StatusCode::OK);
    let unknown = operator
        .post(
            "/console/tenant",
            &[("csrf_token", &csrf), ("tenant_id", "ten_nope")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sessions_live_in_postgres_and_end_at_sign_out() {
    let app = TestApp::spawn_with(Options {
        database_url: Some(crate::postgres::fresh_database().await),
        ..Options::default()
    })
    .await;
    let visitor = sign_in(&app, &app.api_key).await;
    let page = visitor.get("/console/orders").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_in(&page.text().await.unwrap());
    let logout = visitor
        .post("/console/logout", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    let line = set_cookie_line(&logout, "simgate_session").unwrap();
    assert!(line.contains("Max-Age=0"), "{line}");
    let after = visitor.get("/console/orders").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}

/// Every `src` and stylesheet `href` of a page is served by simgate.
fn assert_assets_local(page: &str, html: &str) {
    for attribute in [r#"src=""#, r#"<link rel="stylesheet" href=""#] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            assert!(
                value.starts_with("/console/"),
                "{page} loads {}",
                &value[..value.find('"').unwrap()]
            );
        }
    }
}

#[tokio::test]
async fn every_page_renders_from_local_assets_and_a_revoke_is_confirmed_first() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    let sku = product.strip_prefix("esim-go:").unwrap().to_owned();
    let order = app.order(&product, "console-pages").await;
    let id = order["id"].as_str().unwrap();
    let iccid = order["esims"][0].as_str().unwrap();
    let visitor = sign_in(&app, &app.api_key).await;
    for page in [
        "/console/".to_owned(),
        "/console/orders?status=completed&provider=esim-go".to_owned(),
        format!("/console/orders/{id}"),
        format!("/console/esims/{iccid}"),
        "/console/catalogue?country=JP".to_owned(),
        "/console/pricing".to_owned(),
        "/console/webhooks".to_owned(),
        "/console/routing?country=JP".to_owned(),
        "/console/providers".to_owned(),
        "/console/sim-orders".to_owned(),
        "/console/account".to_owned(),
    ] {
        let response = visitor.get(&page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        let html = response.text().await.unwrap();
        assert_assets_local(&page, &html);
        // Every control has its label.
        for (at, _) in html
            .match_indices(r#"<input id=""#)
            .chain(html.match_indices(r#"<select id=""#))
        {
            let rest = &html[at..];
            let control = &rest[rest.find('"').unwrap() + 1..];
            let control = &control[..control.find('"').unwrap()];
            assert!(
                html.contains(&format!(r#"<label for="{control}""#)),
                "{page}: #{control} has no label"
            );
        }
    }
    for asset in ["/console/assets/htmx.min.js", "/console/assets/console.css"] {
        let response = app
            .client
            .get(format!("{}{asset}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }
    let home = visitor.get("/console/").await.text().await.unwrap();
    assert!(
        home.contains("<svg") && home.contains("Orders per hour"),
        "{home}"
    );
    let svg = visitor.get(&format!("/console/esims/{iccid}/qr.svg")).await;
    assert_eq!(svg.headers()[CONTENT_TYPE], "image/svg+xml");
    let bad = visitor.get("/console/orders?status=lost").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // Outside `serve --sandbox` there is no faults panel, nor its link.
    let operator = sign_in(&app, OPERATOR_KEY).await;
    let operator_home = operator.get("/console/").await.text().await.unwrap();
    assert!(
        !operator_home.contains(r#"href="/console/faults""#),
        "{operator_home}"
    );
    let faults = operator.get("/console/faults").await;
    assert_eq!(faults.status(), StatusCode::NOT_FOUND);

    // Revoking asks first; the confirmed form revokes.
    let confirm = visitor
        .get(&format!("/console/esims/{iccid}/revoke?bundle={sku}"))
        .await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let csrf = csrf_in(&confirm.text().await.unwrap());
    let usage = app.get_json(&format!("/v1/esims/{iccid}/usage")).await;
    assert_ne!(usage["bundles"][0]["state"], "revoked");
    let revoked = visitor
        .post(
            &format!("/console/esims/{iccid}/revoke"),
            &[("csrf_token", &csrf), ("bundle", &sku)],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let usage = app.get_json(&format!("/v1/esims/{iccid}/usage")).await;
    assert_eq!(usage["bundles"][0]["state"], "revoked");
}

/// chromedriver on a free port, killed when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub(crate) async fn start() -> Self {
        let path = std::env::var_os("CHROMEDRIVER")
            .map_or_else(|| PathBuf::from(DEFAULT_CHROMEDRIVER), PathBuf::from);
        assert!(
            path.exists(),
            "chromedriver not found at {}: install Debian's chromium-driver \
             (`apt-get install -y chromium chromium-driver`, as .ci/run does) or set CHROMEDRIVER",
            path.display()
        );
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        eventually(Duration::from_secs(20), || async {
            let body: Value = reqwest::get(&status).await.ok()?.json().await.ok()?;
            (body["value"]["ready"] == true).then_some(())
        })
        .await;
        Self { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Where the screenshots go: `target/console-screenshots/`.
fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Types each `(id, value)` into its field, replacing what it held, then
/// clicks the button with id `button`.
pub(crate) async fn fill_and_click(
    browser: &fantoccini::Client,
    fields: &[(&str, &str)],
    button: &str,
) {
    for (id, value) in fields {
        let field = browser.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }
    browser
        .find(Locator::Id(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types a markup into the pricing editor and saves it.
async fn save_markup(browser: &fantoccini::Client, percent: &str) {
    fill_and_click(browser, &[("markup_percent", percent)], "save-pricing").await;
}

/// Saves the page at 1280 px and at 390 px wide.
pub(crate) async fn screenshots(browser: &fantoccini::Client, name: &str) {
    let dir = screenshot_dir();
    for (width, height) in [(1280, 900), (390, 844)] {
        browser.set_window_size(width, height).await.unwrap();
        let png = browser.screenshot().await.unwrap();
        let image = image::load_from_memory(&png).unwrap();
        assert!(image.width() > 0, "{name} at {width}px is empty");
        std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
    }
    browser.set_window_size(1280, 900).await.unwrap();
}

/// The order page's status once the order is final (`completed` or
/// `failed`): the page follows the order itself, within 30 s.
pub(crate) async fn final_order_status(browser: &fantoccini::Client) -> String {
    eventually(Duration::from_secs(30), || async {
        let text = browser
            .find(Locator::Css("#order-status [data-status]"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (text == "completed" || text == "failed").then_some(text)
    })
    .await
}

/// Waits until the page shown is the one titled `title`.
pub(crate) async fn wait_for_title(browser: &fantoccini::Client, title: &str) {
    eventually(Duration::from_secs(10), || async {
        let shown = browser
            .find(Locator::Css("main h1"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (shown == title).then_some(())
    })
    .await;
}

/// The number at the start of a price cell (`"2.04 USD"`).
fn amount(text: &str) -> Decimal {
    Decimal::from_str(text.split_whitespace().next().unwrap()).unwrap()
}

/// A headless Chromium session through `driver`.
pub(crate) async fn open_browser(driver: &Driver) -> fantoccini::Client {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| DEFAULT_CHROMIUM.to_owned());
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
        }),
    );
    // chromedriver speaks plain HTTP on 127.0.0.1: no TLS connector.
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("chromedriver starts a headless Chromium session")
}

#[tokio::test]
async fn a_support_agent_orders_shows_the_qr_and_changes_the_markup_in_a_browser() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    let driver = Driver::start().await;
    let browser = open_browser(&driver).await;
    let scenario = tokio::time::timeout(BROWSER_LIMIT, scenario(&app, &browser, &product)).await;
    let _ = browser.close().await;
    scenario.expect("the browser scenario finishes within its limit");
}

async fn scenario(app: &TestApp, browser: &fantoccini::Client, product: &str) {
    let base = &app.address;
    // Sign in with the tenant's key, by keyboard.
    browser
        .goto(&format!("{base}/console/login"))
        .await
        .unwrap();
    screenshots(browser, "login").await;
    let key = browser.find(Locator::Id("api_key")).await.unwrap();
    key.send_keys(&format!("{}\u{E007}", app.api_key))
        .await
        .unwrap();
    wait_for_title(browser, "Dashboard").await;

    // Order the product from the catalogue page.
    browser
        .goto(&format!("{base}/console/catalogue?country=JP"))
        .await
        .unwrap();
    let row = format!(r#"tr[data-product="{product}"]"#);
    let before = browser
        .find(Locator::Css(&format!("{row} td.price")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    screenshots(browser, "catalogue").await;
    browser
        .find(Locator::Css(&format!("{row} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The order page follows it until it completes.
    let status = final_order_status(browser).await;
    assert_eq!(status, "completed");
    screenshots(browser, "order").await;

    // Its eSIM page shows the QR code, loaded.
    browser
        .find(Locator::Css("a[href^='/console/esims/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        let loaded = browser
            .execute(
                "const img = document.getElementById('esim-qr'); \
                 return !!img && img.complete && img.naturalWidth > 0;",
                vec![],
            )
            .await
            .ok()?;
        (loaded == json!(true)).then_some(())
    })
    .await;
    screenshots(browser, "esim").await;

    // An invalid markup is refused beside its field, and nothing changes.
    browser
        .goto(&format!("{base}/console/pricing"))
        .await
        .unwrap();
    save_markup(browser, "5000").await;
    let error = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("markup_percent-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("between 0 and 1000"), "{error}");
    screenshots(browser, "pricing-error").await;

    // A valid markup: the catalogue shows the new price.
    save_markup(browser, "50").await;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("p.notice[role=status]"))
        .await
        .unwrap();
    browser
        .goto(&format!("{base}/console/catalogue?country=JP"))
        .await
        .unwrap();
    let after = browser
        .find(Locator::Css(&format!("{row} td.price")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let api: Value = app.get_json(&format!("/v1/products/{product}")).await;
    let expected = Decimal::from_str(api["price"]["amount"].as_str().unwrap()).unwrap();
    assert_eq!(amount(&after), expected, "catalogue shows {after}");
    assert!(amount(&after) > amount(&before), "{before} → {after}");
    screenshots(browser, "catalogue-marked-up").await;

    // A line is listed, and its page offers its settings, labelled.
    let mpn = crate::lines::reserved_number(app, 0).await;
    let created = app
        .post("/v1/lines", &json!({ "mpn": mpn, "uc": "own" }), None)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    browser
        .goto(&format!("{base}/console/lines"))
        .await
        .unwrap();
    screenshots(browser, "lines").await;
    browser
        .find(Locator::Css(&format!("a[href='/console/lines/{mpn}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("label[for=mobile_data]"))
        .await
        .unwrap();
    screenshots(browser, "line").await;
}
