//! Sim Local, eSIM Story, Telnyx and ONSIM: every endpoint of their documents.

use super::*;

#[tokio::test]
async fn sim_local_serves_every_documented_endpoint() {
    let config = SimLocalSandboxConfig::default();
    let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let sandbox = SimLocalSandbox::new(config);
    let handle = sandbox.spawn(listener().await).unwrap();
    let token: Value = reqwest::Client::new()
        .post(format!("{}{TOKEN_PATH}", handle.base_url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let mut run = Run::new("sim-local", &handle, Auth::Bearer(token));

    run.send(call("Get destinations", "GET", "/destinations"))
        .await;
    let offerings = run
        .send(call("Get product offerings", "GET", "/product-offerings"))
        .await;
    run.send(call("Get faulty reasons", "GET", "/faulty-reasons"))
        .await;
    let mut order = load("sim-local", "POST_orders_request.json");
    order["item"] = json!({"product_offering_id": offerings[0]["id"]});
    order["payment_details"] = json!({"method": "invoice"});
    order["kyc_details"] = json!({"verified": true});
    let created = run
        .send(call("Create order", "POST", "/orders?synchronous=true").json(order.clone()))
        .await;
    for kept in [
        "payment_details",
        "kyc_details",
        "contact_name",
        "contact_email",
    ] {
        assert_eq!(created[kept], order[kept], "{kept}");
    }
    let id = created["id"].as_str().unwrap().to_owned();
    let reference = order["external_reference"].as_str().unwrap();
    run.send(call(
        "Search order(s) by external reference",
        "GET",
        format!("/orders?external_reference={reference}"),
    ))
    .await;
    run.send(call("Get order by ID", "GET", format!("/orders/{id}")))
        .await;
    let reasons: Value = load("sim-local", "GET_faulty-reasons_200.json");
    let reason = reasons[0].as_str().unwrap_or("OTHER");
    run.send(call(
        "Report faulty order",
        "POST",
        format!("/orders/{id}/faulty?reason={reason}&note=conformance"),
    ))
    .await;
    run.finish();
    handle.shutdown().await;
}

#[tokio::test]
async fn esim_story_serves_every_documented_endpoint() {
    let config = StorySandboxConfig::default();
    let auth = Auth::Story {
        access: config.access_key.clone(),
        secret: config.secret_key.clone(),
    };
    let sandbox = EsimStorySandbox::new(config);
    let options = sandbox.options();
    let handle = sandbox.spawn(listener().await).unwrap();
    let mut run = Run::new("esim-story", &handle, auth);
    let order = json!({"external_order_id": "ORDER-123456", "products": [
        {"option_id": options[0].option_id, "qty": 1},
        {"option_id": options[1].option_id, "qty": 2}]});
    run.send(call("Create order", "POST", ORDERS_PATH).json(order.clone()))
        .await;
    run.send(
        call("Create order: qty 2 example", "POST", ORDERS_PATH).json(json!({
            "external_order_id": "ORDER-123457",
            "products": [{"option_id": options[0].option_id, "qty": 2}]})),
    )
    .await;
    run.send(call("Create order: bad JSON", "POST", ORDERS_PATH).raw("{not json"))
        .await;
    run.send(
        call("Create order: unauthorized", "POST", ORDERS_PATH)
            .json(order.clone())
            .unauthenticated(),
    )
    .await;
    run.send(call("Create order: validation", "POST", ORDERS_PATH).json(order))
        .await;
    run.send(
        call("Create order: validation", "POST", ORDERS_PATH)
            .json(json!({"products": [{"option_id": options[0].option_id, "qty": 1}]})),
    )
    .await;
    run.send(
        call("Create order: validation", "POST", ORDERS_PATH).json(json!({
            "external_order_id": "ORDER-123458",
            "products": [{"option_id": options[0].option_id, "qty": -1}]})),
    )
    .await;
    run.finish();
    handle.shutdown().await;
}

#[tokio::test]
async fn telnyx_serves_every_documented_endpoint() {
    let sandbox = TelnyxSandbox::new(TelnyxSandboxConfig::default());
    let handle = sandbox.spawn(listener().await).unwrap();
    let mut run = Run::new("telnyx", &handle, Auth::Bearer(TELNYX_KEY.to_owned()));
    let address = run
        .send(setup(
            "POST",
            "/addresses",
            json!({"first_name": "Jane", "last_name": "Doe", "business_name": "Acme",
                   "street_address": "311 W Superior St", "locality": "Chicago",
                   "administrative_area": "IL", "postal_code": "60654", "country_code": "US"}),
        ))
        .await;
    let address_id = address["data"]["id"].clone();
    let mut body = load("telnyx", "POST_sim_card_order_preview_request.json");
    body["address_id"] = address_id.clone();
    run.send(call("Preview SIM card orders", "POST", "/sim_card_order_preview").json(body))
        .await;
    let mut body = load("telnyx", "POST_sim_card_orders_request.json");
    body["address_id"] = address_id;
    let created = run
        .send(call("Create a SIM card order", "POST", "/sim_card_orders").json(body))
        .await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    run.send(call("Get all SIM card orders", "GET", "/sim_card_orders"))
        .await;
    run.send(call(
        "Get a single SIM card order",
        "GET",
        format!("/sim_card_orders/{id}"),
    ))
    .await;
    run.send(call(
        "Get a single SIM card order: not found",
        "GET",
        "/sim_card_orders/6a09cdc3-8948-47f0-aa62-74ac943d6c58",
    ))
    .await;
    run.finish();
    handle.shutdown().await;
}

#[tokio::test]
async fn onsim_serves_every_documented_endpoint() {
    let sandbox = OnsimSandbox::new(OnsimSandboxConfig::default());
    let numbers = sandbox.reserved_numbers();
    let esims = sandbox.reserved_sims(SimKind::Esim);
    let handle = sandbox.spawn(listener().await).unwrap();
    let mut run = Run::new("onsim", &handle, Auth::Bearer(ONSIM_KEY.to_owned()));
    let short = |iccid: &simgate_domain::Iccid| iccid.as_str()[..19].to_owned();

    run.send(call(
        "Reseller - List Product Catalogue",
        "GET",
        "/reseller/catalogue",
    ))
    .await;
    let mut body = load("onsim", "POST_reseller_groups_request.json");
    body["name"] = json!("CUSTOMERA");
    run.send(call("Reseller - Add Group", "POST", "/reseller/groups").json(body))
        .await;
    run.send(call("Reseller - List Groups", "GET", "/reseller/groups").answers("application/json"))
        .await;

    let (own, onsim) = (
        numbers[0].as_str().to_owned(),
        numbers[1].as_str().to_owned(),
    );
    let mut body = load("onsim", "POST_reseller_provision_request.json");
    body["mpn"] = json!(own);
    body["iccid"] = json!(short(&esims[0]));
    run.send(
        call(
            "Reseller - Provision Account (own UC)",
            "POST",
            "/reseller/provision",
        )
        .json(body),
    )
    .await;
    let mut body = load("onsim", "POST_reseller_provision-onsim_request.json");
    body["mpn"] = json!(onsim);
    body["iccid"] = json!(short(&esims[1]));
    body["group_name"] = json!("CUSTOMERA");
    run.send(
        call(
            "Reseller - Provision Account (ONSIM UC)",
            "POST",
            "/reseller/provision-onsim",
        )
        .json(body),
    )
    .await;

    run.send(call(
        "Account - Get Info (object form)",
        "GET",
        format!("/account/{own}"),
    ))
    .await;
    run.send(call(
        "Account - Update Bundle",
        "POST",
        format!("/account/{own}/bundle/2GB"),
    ))
    .await;
    run.send(
        call(
            "Manage Account Recording",
            "POST",
            format!("/account/{own}/recording"),
        )
        .json(load("onsim", "POST_account_mpn_recording_request.json")),
    )
    .await;
    let mut body = load("onsim", "POST_account_pbxinfo_mpn_request.json");
    body["mpn"] = json!(own);
    run.send(
        call(
            "Account - Update Mobile Settings",
            "POST",
            format!("/account/pbxinfo/{own}"),
        )
        .json(body),
    )
    .await;
    let esim = run
        .send(
            call("Account - eSIM", "POST", "/account/esim")
                .json(json!({"mpn": own, "refresh_code": 0})),
        )
        .await;
    let code = esim["esim_code"]
        .as_str()
        .unwrap_or("LPA:1$smdp$code")
        .to_owned();
    run.send(
        call("Account - Generate QR", "POST", "/account/esim/generate")
            .json(json!({"esim_code": code})),
    )
    .await;
    run.send(
        call(
            "Reseller - List Subscribers",
            "POST",
            "/reseller/subscribers",
        )
        .json(json!({"state": "PROVISIONED"}))
        .answers("application/json"),
    )
    .await;
    run.send(
        call("Numbers - List all numbers", "GET", "/numbers/RESERVED").answers("application/json"),
    )
    .await;
    run.send(call(
        "Numbers - Add a number",
        "POST",
        "/numbers/447700955501",
    ))
    .await;
    run.send(call("SIMs - List all sims", "GET", "/sims/RESERVED/ALL").answers("application/json"))
        .await;
    run.send(call("Porting - Lookup Port", "GET", "/port/1001"))
        .await;
    run.send(call("Porting - List All Ports", "GET", "/port/all/ALL"))
        .await;
    run.send(
        call("Account - Cease Account", "DELETE", "/account")
            .json(json!({"iccid": short(&esims[0])})),
    )
    .await;
    run.finish();
    handle.shutdown().await;
}
