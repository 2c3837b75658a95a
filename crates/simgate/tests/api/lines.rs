//! Subscriber lines through the unified API against the ONSIM sandbox: the
//! whole life of a line, the inventory around it, and every bad input.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use simgate_domain::Msisdn;

use std::time::Duration;

use crate::helpers::{OPERATOR_KEY, Options, TestApp, assert_problem, eventually};

/// A request with the operator's key: the provider account's groups,
/// numbers added and raw inventory are the operator's.
async fn as_operator(app: &TestApp, method: Method, path: &str, body: &Value) -> reqwest::Response {
    let mut request = app
        .client
        .request(method.clone(), format!("{}{path}", app.address))
        .bearer_auth(OPERATOR_KEY);
    if method != Method::GET {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn operator_json(app: &TestApp, path: &str) -> Value {
    as_operator(app, Method::GET, path, &json!({}))
        .await
        .json()
        .await
        .unwrap()
}

/// A reserved number of the provider account, free to provision.
pub(crate) async fn reserved_number(app: &TestApp, skip: usize) -> String {
    let numbers = app.get_json("/v1/numbers?state=reserved").await;
    let numbers = numbers["data"].as_array().unwrap();
    assert!(numbers.len() > skip, "the sandbox reserves numbers");
    assert!(numbers.iter().all(|n| n["state"] == "reserved"));
    numbers[skip]["mpn"].as_str().unwrap().to_owned()
}

async fn create_group(app: &TestApp, name: &str) {
    let response = as_operator(
        app,
        Method::POST,
        "/v1/groups",
        &json!({
            "name": name, "home_locations": ["GB"], "address_line_1": "1 Example Street",
            "address_line_2": null, "city": "London", "country": "United Kingdom",
            "post_code": "SW1A 0AA", "description": "test customers"
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED, "group {name}");
}

fn decode_qr(png: &[u8]) -> String {
    let image = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn a_line_lives_from_provisioning_to_cease() {
    let app = TestApp::spawn().await;
    let offers = app.get_json("/v1/line-offers").await;
    let offers = offers["data"].as_array().unwrap();
    let product = offers
        .iter()
        .find(|o| o["type"] == "product")
        .expect("a product to provision with");
    let product_id: u32 = product["id"].as_str().unwrap().parse().unwrap();
    assert!(
        offers
            .iter()
            .any(|o| o["type"] == "bundle" && o["id"] == "UNLIMITED")
    );

    create_group(&app, "TRAVEL_CO").await;
    let groups = operator_json(&app, "/v1/groups").await;
    assert!(
        groups["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "TRAVEL_CO" && g["home_locations"] == json!(["GB"]))
    );

    let mpn = reserved_number(&app, 0).await;
    let provisioned = app
        .post(
            "/v1/lines",
            &json!({
                "mpn": format!("+{mpn}"), "uc": "provider", "group_name": "TRAVEL_CO",
                "home_location": "GBR", "first_name": "John", "last_name": "Smith",
                "email": "j.smith@example.com", "product": product_id, "mobile_data": "2GB"
            }),
            None,
        )
        .await;
    assert_eq!(provisioned.status(), StatusCode::CREATED);
    let provisioned: Value = provisioned.json().await.unwrap();
    assert_eq!(provisioned["mpn"], mpn.as_str());
    assert!(provisioned["pbx_password"].is_string());
    let iccid = provisioned["iccid"].as_str().unwrap().to_owned();
    assert_eq!(iccid.len(), 20, "printed ICCID with its check digit");

    let listed = app.get_json("/v1/lines").await;
    assert_eq!(listed["data"][0]["mpn"], mpn.as_str());
    assert_eq!(listed["data"][0]["status"], "active");
    let line = app.get_json(&format!("/v1/lines/{mpn}")).await;
    assert_eq!(line["iccid"], iccid.as_str());
    assert_eq!(line["services"]["mobile_data"], true);
    let active = app.get_json("/v1/numbers?state=active").await;
    assert!(
        active["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["mpn"] == mpn.as_str())
    );

    // The line's eSIM: the same install details and QR as any eSIM.
    let esim = app.get_json(&format!("/v1/lines/{mpn}/esim")).await;
    let code = esim["activation_code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("LPA:1$"), "{esim}");
    assert_eq!(esim["iccid"], iccid.as_str());
    assert!(
        esim["apple_install_url"]
            .as_str()
            .unwrap()
            .contains("carddata=")
    );
    let png = app.get(&format!("/v1/lines/{mpn}/esim/qr.png")).await;
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(decode_qr(&png.bytes().await.unwrap()), code);
    let svg = app.get(&format!("/v1/lines/{mpn}/esim/qr.svg")).await;
    assert!(svg.text().await.unwrap().contains("<svg"));
    let hosted = app
        .get_json(&format!("/v1/lines/{mpn}/esim/provider-qr"))
        .await;
    let image = app
        .client
        .get(hosted["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(
        decode_qr(&image.bytes().await.unwrap()),
        code,
        "the provider's QR"
    );
    let refreshed = app
        .get_json(&format!("/v1/lines/{mpn}/esim?refresh=true"))
        .await;
    assert_ne!(
        refreshed["activation_code"],
        code.as_str(),
        "a fresh code before install"
    );

    // Settings, recording and bundle.
    let settings = app
        .send(
            Method::PATCH,
            &format!("/v1/lines/{mpn}"),
            &json!({ "mobile_hotspot": true, "mobile_data": false }),
        )
        .await;
    assert_eq!(settings.status(), StatusCode::NO_CONTENT);
    let line = app.get_json(&format!("/v1/lines/{mpn}")).await;
    assert_eq!(line["services"]["mobile_hotspot"], true);
    assert_eq!(line["services"]["mobile_data"], false);
    let recording = app
        .send(
            Method::PUT,
            &format!("/v1/lines/{mpn}/recording"),
            &json!({ "voice": true, "sms": false }),
        )
        .await;
    assert_eq!(recording.status(), StatusCode::NO_CONTENT);
    let recorded = app
        .get_json("/v1/subscribers?is_recorded=true&group=TRAVEL_CO")
        .await;
    assert!(
        recorded["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["mpn"] == mpn.as_str())
    );
    let bundle = app
        .send(
            Method::PUT,
            &format!("/v1/lines/{mpn}/bundle"),
            &json!({ "sku": "UNLIMITED" }),
        )
        .await;
    assert_eq!(bundle.status(), StatusCode::NO_CONTENT);
    let line = app.get_json(&format!("/v1/lines/{mpn}")).await;
    assert_eq!(line["bundle"]["name"], "UNLIMITED", "{line}");
    let number = Msisdn::parse(&mpn).unwrap();
    assert!(app.onsim.use_data(&number, 300));
    let line = app.get_json(&format!("/v1/lines/{mpn}")).await;
    assert_eq!(line["bundle"]["used_mb"], 300, "usage: {line}");

    // Once installed on a device, the code no longer refreshes.
    assert!(app.onsim.install(&number));
    let installed = app
        .get_json(&format!("/v1/lines/{mpn}/esim?refresh=true"))
        .await;
    assert_eq!(installed["status"], "installed", "{installed}");
    assert_eq!(installed["activation_code"], refreshed["activation_code"]);

    // Ports of the provider account (none is this tenant's).
    assert_eq!(app.get_json("/v1/ports").await["data"], json!([]));
    let in_progress = operator_json(&app, "/v1/ports?state=in_progress").await;
    let ports = in_progress["data"].as_array().unwrap();
    assert!(!ports.is_empty());
    assert!(ports.iter().all(|p| p["state"] == "in_progress"));
    let port_id = ports[0]["id"].as_str().unwrap();
    let port = operator_json(&app, &format!("/v1/ports/{port_id}")).await;
    assert_eq!(port["id"], port_id);
    let all = operator_json(&app, "/v1/ports").await;
    assert!(all["data"].as_array().unwrap().len() >= ports.len());

    // Cease: only with confirmation, and for good.
    let unconfirmed = app
        .post(&format!("/v1/lines/{mpn}/cease"), &json!({}), None)
        .await;
    assert_problem(
        unconfirmed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "confirmation_required",
    )
    .await;
    let declined = app
        .post(
            &format!("/v1/lines/{mpn}/cease"),
            &json!({ "confirm": false }),
            None,
        )
        .await;
    assert_problem(
        declined,
        StatusCode::UNPROCESSABLE_ENTITY,
        "confirmation_required",
    )
    .await;
    assert_eq!(
        app.get(&format!("/v1/lines/{mpn}")).await.status(),
        StatusCode::OK,
        "still there"
    );
    let ceased = app
        .post(
            &format!("/v1/lines/{mpn}/cease"),
            &json!({ "confirm": true }),
            None,
        )
        .await;
    assert_eq!(ceased.status(), StatusCode::NO_CONTENT);
    let gone = app.get(&format!("/v1/lines/{mpn}")).await;
    assert_problem(gone, StatusCode::NOT_FOUND, "line_not_found").await;
    let listed = app.get_json("/v1/lines").await;
    assert_eq!(listed["data"][0]["status"], "ceased");
}

#[tokio::test]
async fn a_physical_sim_is_provisioned_from_its_short_iccid_on_own_uc() {
    let app = TestApp::spawn().await;
    // The operator lists its free physical SIMs and hands one out.
    let sims = operator_json(&app, "/v1/sims?state=reserved&kind=psim").await;
    let sims = sims["data"].as_array().unwrap();
    assert!(!sims.is_empty());
    assert!(
        sims.iter()
            .all(|s| s["kind"] == "psim" && s["state"] == "reserved")
    );
    let printed = sims[0]["iccid"].as_str().unwrap().to_owned();
    assert_eq!(printed.len(), 20);
    let short = &printed[..19];
    let mpn = reserved_number(&app, 1).await;
    let response = app
        .post(
            "/v1/lines",
            &json!({ "mpn": mpn, "iccid": short, "uc": "own", "pbx_user": "USER12345" }),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["iccid"], printed.as_str(), "converted, not refused");
    let line = app.get_json(&format!("/v1/lines/{mpn}")).await;
    assert_eq!(line["iccid"], printed.as_str());
    let active = app.get_json("/v1/sims?state=active&kind=psim").await;
    assert!(
        active["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["iccid"] == printed.as_str())
    );
}

#[tokio::test]
async fn bad_line_requests_get_clear_problems() {
    let app = TestApp::spawn().await;
    for bad in ["07700900001", "+44-7700", "1234567", "abc"] {
        let response = app.get(&format!("/v1/lines/{bad}")).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_msisdn").await;
    }
    let unknown = app.get("/v1/lines/447700900999").await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "line_not_found").await;
    let response = app
        .post("/v1/lines", &json!({ "mpn": "0770090", "uc": "own" }), None)
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "invalid_msisdn").await;
    // Neither a printed ICCID (19 or 20 digits with its check digit) nor
    // ONSIM's 19-digit short form.
    for iccid in ["894400000000000000012345", "89440000000ABC00001"] {
        let response = app
            .post(
                "/v1/lines",
                &json!({ "mpn": "447700900001", "iccid": iccid, "uc": "own" }),
                None,
            )
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_iccid").await;
    }

    let mpn = reserved_number(&app, 2).await;
    let incomplete = app
        .post(
            "/v1/lines",
            &json!({ "mpn": mpn, "uc": "provider", "group_name": "TRAVEL_CO" }),
            None,
        )
        .await;
    let problem = assert_problem(incomplete, StatusCode::BAD_REQUEST, "missing_field").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("home_location")
    );

    // A number the provider account does not hold: the provider says why.
    let refused = app
        .post(
            "/v1/lines",
            &json!({ "mpn": "447700911911", "uc": "own" }),
            None,
        )
        .await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "provider_rejected",
    )
    .await;
    assert!(problem["provider_code"].is_string(), "{problem}");
    assert_eq!(
        app.get_json("/v1/lines").await["data"],
        json!([]),
        "a refused provisioning leaves no line behind"
    );

    let created = app
        .post("/v1/lines", &json!({ "mpn": mpn, "uc": "own" }), None)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let twice = app
        .post("/v1/lines", &json!({ "mpn": mpn, "uc": "own" }), None)
        .await;
    assert_problem(twice, StatusCode::CONFLICT, "line_exists").await;

    // Another tenant cannot see or touch this tenant's line.
    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other").await;
    let other = |method: Method, path: String, body: Value| {
        app.client
            .request(method, format!("{}{path}", app.address))
            .bearer_auth(&other_key)
            .json(&body)
            .send()
    };
    let theirs = other(Method::GET, format!("/v1/lines/{mpn}"), json!({}))
        .await
        .unwrap();
    assert_problem(theirs, StatusCode::NOT_FOUND, "line_not_found").await;
    let cease = other(
        Method::POST,
        format!("/v1/lines/{mpn}/cease"),
        json!({"confirm": true}),
    )
    .await
    .unwrap();
    assert_problem(cease, StatusCode::NOT_FOUND, "line_not_found").await;
    let listed: Value = other(Method::GET, "/v1/lines".into(), json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"], json!([]));

    let bad_group = as_operator(
        &app,
        Method::POST,
        "/v1/groups",
        &json!({ "name": "_bad", "home_locations": ["GB"], "address_line_1": "x",
                 "address_line_2": null, "city": null, "country": null, "post_code": null,
                 "description": null }),
    )
    .await;
    assert_problem(bad_group, StatusCode::BAD_REQUEST, "invalid_group_name").await;
    let no_port = app.get("/v1/ports/999999").await;
    assert_problem(no_port, StatusCode::NOT_FOUND, "port_not_found").await;
    let bad_state = app.get("/v1/ports?state=sideways").await;
    assert_problem(bad_state, StatusCode::BAD_REQUEST, "invalid_query").await;
    let bad_number = as_operator(&app, Method::POST, "/v1/numbers", &json!({ "mpn": "12" })).await;
    assert_problem(bad_number, StatusCode::BAD_REQUEST, "invalid_msisdn").await;
    let empty_bundle = app
        .send(
            Method::PUT,
            &format!("/v1/lines/{mpn}/bundle"),
            &json!({ "sku": "" }),
        )
        .await;
    assert_problem(empty_bundle, StatusCode::BAD_REQUEST, "missing_field").await;
}

#[tokio::test]
async fn a_number_added_joins_the_reserve_once() {
    let app = TestApp::spawn().await;
    let added = as_operator(
        &app,
        Method::POST,
        "/v1/numbers",
        &json!({ "mpn": "+447700900777" }),
    )
    .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let reserved = app.get_json("/v1/numbers?state=reserved").await;
    assert!(
        reserved["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["mpn"] == "447700900777")
    );
    let again = as_operator(
        &app,
        Method::POST,
        "/v1/numbers",
        &json!({ "mpn": "447700900777" }),
    )
    .await;
    let problem =
        assert_problem(again, StatusCode::UNPROCESSABLE_ENTITY, "provider_rejected").await;
    assert_eq!(problem["provider_code"], "NUMBER_EXISTS");
    let malformed = as_operator(
        &app,
        Method::POST,
        "/v1/numbers",
        &json!({ "mpn": "07700 900777" }),
    )
    .await;
    assert_problem(malformed, StatusCode::BAD_REQUEST, "invalid_msisdn").await;
}

/// Arms a fault in the ONSIM sandbox.
async fn onsim_fault(app: &TestApp, spec: Value) {
    let armed = app
        .client
        .post(format!("{}/__admin/faults", app.onsim_handle.base_url()))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_lost_provisioning_answer_is_settled_and_a_refused_one_released() {
    let app = TestApp::spawn_with(Options {
        reconcile_after_secs: 1,
        ..Options::default()
    })
    .await;
    let lost = reserved_number(&app, 0).await;
    let refused = reserved_number(&app, 1).await;

    // ONSIM provisions, but its answer cannot be read: simgate keeps the
    // line as provisioning and settles it by looking the number up.
    onsim_fault(
        &app,
        json!({ "kind": "malformed", "path": "/reseller/provision" }),
    )
    .await;
    let response = app
        .post("/v1/lines", &json!({ "mpn": lost, "uc": "own" }), None)
        .await;
    assert_problem(
        response,
        StatusCode::BAD_GATEWAY,
        "upstream_invalid_response",
    )
    .await;
    let listed = app.get_json("/v1/lines").await;
    assert_eq!(listed["data"][0]["status"], "provisioning");
    let settled = eventually(Duration::from_secs(30), || async {
        let listed = app.get_json("/v1/lines").await;
        let line = listed["data"]
            .as_array()?
            .iter()
            .find(|l| l["mpn"] == lost.as_str())?
            .clone();
        (line["status"] == "active").then_some(line)
    })
    .await;
    assert_eq!(settled["iccid"].as_str().unwrap().len(), 20);
    let again = app
        .post("/v1/lines", &json!({ "mpn": lost, "uc": "own" }), None)
        .await;
    assert_problem(again, StatusCode::CONFLICT, "line_exists").await;

    // ONSIM is unavailable: nothing was provisioned, so the number is free
    // again at once and a retry succeeds.
    onsim_fault(
        &app,
        json!({ "kind": "status", "status": 503, "times": 3, "path": "/reseller/provision" }),
    )
    .await;
    let response = app
        .post("/v1/lines", &json!({ "mpn": refused, "uc": "own" }), None)
        .await;
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    let listed = app.get_json("/v1/lines").await;
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["mpn"] != refused.as_str()),
        "released: {listed}"
    );
    let retried = app
        .post("/v1/lines", &json!({ "mpn": refused, "uc": "own" }), None)
        .await;
    assert_eq!(retried.status(), StatusCode::CREATED);
}
