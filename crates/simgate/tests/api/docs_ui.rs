//! `/docs` works without internet: the page and everything it loads come from
//! simgate, and a real browser (Debian's headless Chromium) renders every
//! operation of the OpenAPI document from them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::Value;
use tokio::process::Command;

use crate::helpers::TestApp;

/// Where Debian's `chromium` package puts the browser; `CHROMIUM` overrides it.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// How long one browser run may take before the test fails.
const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// The width the evidence screenshot is taken at.
const SCREENSHOT_WIDTH: u32 = 1280;

#[tokio::test]
async fn docs_page_and_every_asset_it_references_are_served_by_simgate() {
    let app = TestApp::spawn().await;
    let origin = Url::parse(&app.address).unwrap();

    let page = app
        .client
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page_url = page.url().clone();
    assert_eq!(page_url.origin(), origin.origin(), "/docs left simgate");
    let html = page.text().await.unwrap();
    assert_no_external_url("/docs", &html);

    let references = attribute_values(&html, &["src", "href"]);
    assert!(
        references.iter().any(|r| r.ends_with(".js"))
            && references.iter().any(|r| r.ends_with(".css")),
        "/docs references no script or stylesheet: {references:?}"
    );
    for reference in &references {
        let asset = page_url.join(reference).unwrap();
        assert_eq!(
            asset.origin(),
            origin.origin(),
            "/docs loads {asset} from elsewhere"
        );
        let response = app.client.get(asset.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let body = response.bytes().await.unwrap();
        assert!(!body.is_empty(), "{asset} is empty");
        // Library bundles carry URLs as data (RFC links, licence notes), so
        // their silence is proven by the browser test's network log instead.
        let is_library_bundle =
            reference.ends_with("-bundle.js") || reference.ends_with("-preset.js");
        if !is_library_bundle && !reference.ends_with(".png") {
            assert_no_external_url(asset.as_str(), &String::from_utf8_lossy(&body));
        }
    }

    let initializer = app
        .client
        .get(page_url.join("swagger-initializer.js").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains(r#""url": "/openapi.json""#),
        "the docs UI does not read simgate's own document: {initializer}"
    );
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "the online validator would be called: {initializer}"
    );
}

#[tokio::test]
async fn headless_chromium_renders_every_operation_offline() {
    let chromium = chromium();
    let app = TestApp::spawn().await;
    let spec = app.get_json("/openapi.json").await;
    let operations = operations(&spec);
    assert!(operations.len() > 20, "too few operations: {operations:?}");

    let profile = tempfile::tempdir().unwrap();
    let net_log = profile.path().join("net-log.json");
    let docs = format!("{}/docs", app.address);
    let dom = run_browser(
        &chromium,
        profile.path(),
        &[
            format!("--log-net-log={}", net_log.display()),
            "--dump-dom".to_owned(),
            docs.clone(),
        ],
    )
    .await;
    for (path, operation_id) in &operations {
        assert!(
            dom.contains(&format!(r#"data-path="{path}""#)),
            "{path} is not listed by /docs"
        );
        assert!(
            dom.contains(&format!(r#"opblock-summary-operation-id">{operation_id}<"#)),
            "{operation_id} is not listed by /docs"
        );
    }

    let requested = requests_made_by_the_page(&net_log, &app.address);
    assert!(
        requested.iter().any(|url| url.ends_with("/openapi.json")),
        "the page did not load the document: {requested:?}"
    );
    let elsewhere: Vec<&String> = requested
        .iter()
        .filter(|url| !url.starts_with(&format!("{}/", app.address)))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "/docs reached outside simgate: {elsewhere:?}"
    );

    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docs-ui.png");
    run_browser(
        &chromium,
        profile.path(),
        &[
            format!("--screenshot={}", screenshot.display()),
            format!("--window-size={SCREENSHOT_WIDTH},2000"),
            "--hide-scrollbars".to_owned(),
            docs,
        ],
    )
    .await;
    assert_rendered(&screenshot);
}

/// The browser to drive; a missing one fails the test, naming the fix.
fn chromium() -> PathBuf {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    assert!(
        path.is_file(),
        "headless Chromium not found at {}: install Debian's package \
         (`apt-get install -y chromium`, as .ci/run does) or set CHROMIUM",
        path.display()
    );
    path
}

/// Runs headless Chromium with `extra` arguments and returns what it printed.
/// Only 127.0.0.1 resolves, so nothing can be fetched from elsewhere, and the
/// virtual time budget lets the page's scripts finish before it is read.
async fn run_browser(chromium: &Path, profile: &Path, extra: &[String]) -> String {
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(BROWSER_LIMIT, command.output())
        .await
        .unwrap_or_else(|_| panic!("Chromium did not finish within {BROWSER_LIMIT:?}"))
        .unwrap();
    assert!(
        output.status.success(),
        "Chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every (path, operationId) of the OpenAPI document.
fn operations(spec: &Value) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if let Some(id) = item[method]["operationId"].as_str() {
                operations.push((path.clone(), id.to_owned()));
            }
        }
    }
    operations
}

/// The URLs of the requests the page itself started (its initiator is the
/// page's origin), from Chromium's net log; the browser's own background
/// requests have no origin and are left out.
fn requests_made_by_the_page(net_log: &Path, origin: &str) -> Vec<String> {
    let log: Value = serde_json::from_slice(&std::fs::read(net_log).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .unwrap();
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["type"].as_u64() == Some(start_job))
        .filter(|event| event["params"]["initiator"].as_str() == Some(origin))
        .filter_map(|event| event["params"]["url"].as_str().map(str::to_owned))
        .collect()
}

/// The screenshot is 1280 px wide and not a blank page: a good share of it
/// is neither white nor the page's background.
fn assert_rendered(screenshot: &Path) {
    let image = image::open(screenshot).unwrap().to_rgb8();
    assert_eq!(image.width(), SCREENSHOT_WIDTH);
    let inked = image
        .pixels()
        .filter(|pixel| pixel.0.iter().any(|&channel| channel < 200))
        .count();
    let share = inked as f64 / f64::from(image.width() * image.height());
    assert!(
        share > 0.01,
        "{} looks blank ({:.2} % inked)",
        screenshot.display(),
        share * 100.0
    );
}

/// Fails when `text` names a URL of another host. XML namespaces
/// (`http://www.w3.org/2000/svg` in inline SVG) are names, not fetches.
fn assert_no_external_url(name: &str, text: &str) {
    assert!(!text.contains("https://"), "{name} references https://");
    let without_namespaces = text.replace("http://www.w3.org/", "");
    assert!(
        !without_namespaces.contains("http://"),
        "{name} references http://"
    );
}

/// The values of the given attributes (`src="…"`, `href="…"`) in `html`.
fn attribute_values(html: &str, names: &[&str]) -> Vec<String> {
    let mut values = Vec::new();
    for name in names {
        let marker = format!(r#"{name}=""#);
        let mut rest = html;
        while let Some(start) = rest.find(&marker) {
            let value = &rest[start + marker.len()..];
            let end = value.find('"').unwrap();
            values.push(value[..end].to_owned());
            rest = &value[end..];
        }
    }
    values
}
