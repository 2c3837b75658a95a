//! eSIM Go: every endpoint of its document.

use super::*;

#[tokio::test]
async fn esim_go_serves_every_documented_endpoint() {
    let config = SandboxConfig::default();
    let key = config.api_key.clone();
    let sandbox = EsimGoSandbox::new(config);
    let handle = sandbox.spawn(listener().await).unwrap();
    let mut run = Run::new("esim-go", &handle, Auth::Header("x-api-key", key));

    run.send(call("Get API details", "GET", "/")).await;
    run.send(call(
        "Get Bundle catalogue (live shape)",
        "GET",
        "/catalogue",
    ))
    .await;
    run.send(call(
        "Get Bundle details from catalogue",
        "GET",
        format!("/catalogue/bundle/{JP_1GB}"),
    ))
    .await;
    run.send(call("Get Country Network Data", "GET", "/networks?isos=JP"))
        .await;

    let order = json!({"type": "transaction", "assign": true, "Order": [
        {"type": "bundle", "quantity": 1, "item": JP_1GB, "allowReassign": false}]});
    let created = run
        .send(call("Create orders", "POST", "/orders").json(order))
        .await;
    let reference = created["orderReference"].as_str().unwrap().to_owned();
    let iccid = created["order"][0]["esims"][0]["iccid"]
        .as_str()
        .unwrap()
        .to_owned();
    run.send(call("List orders", "GET", "/orders")).await;
    run.send(call(
        "Get order detail",
        "GET",
        format!("/orders/{reference}"),
    ))
    .await;

    let stock = json!({"type": "transaction", "assign": false, "Order": [
        {"type": "bundle", "quantity": 3, "item": JP_1GB, "allowReassign": false}]});
    run.send(setup("POST", "/orders", stock)).await;
    let inventory = run
        .send(call("Get bundle inventory", "GET", "/inventory"))
        .await;
    let lot = inventory["bundles"][0]["available"][0]["id"].clone();
    run.send(
        call("Refund bundle from inventory", "POST", "/inventory/refund")
            .json(json!({"usageId": lot, "quantity": 1})),
    )
    .await;
    run.send(
        call("Apply Bundle to an eSIM", "POST", "/esims/apply")
            .json(json!({"iccid": iccid, "bundle": JP_1GB})),
    )
    .await;
    run.send(
        call(
            "Apply a Bundle to an eSIM (Deprecated)",
            "POST",
            format!("/esims/{iccid}/bundles"),
        )
        .json(json!({"name": JP_1GB, "repeat": 1})),
    )
    .await;

    let listed = run.send(call("List eSIMs", "GET", "/esims")).await;
    let filtered = run
        .send(call(
            "List eSIMs",
            "GET",
            format!("/esims?filterBy=iccid&filter={iccid}&direction=asc&orderBy=iccid"),
        ))
        .await;
    assert!(listed["esims"].as_array().is_some_and(|l| !l.is_empty()));
    let matched = filtered["esims"].as_array().unwrap();
    assert_eq!(matched.len(), 1, "{filtered}");
    assert_eq!(matched[0]["iccid"], iccid.as_str());
    run.send(
        call("Update eSIM Details", "PUT", "/esims")
            .json(json!({"iccid": iccid, "customerRef": "customer-1"})),
    )
    .await;
    run.send(
        call(
            "Get eSIM Install Details",
            "GET",
            format!("/esims/assignments?reference={reference}"),
        )
        .answers("text/csv"),
    )
    .await;
    run.send(
        call(
            "Get eSIM Install Details",
            "GET",
            format!("/esims/assignments?reference={reference}"),
        )
        .accept("application/zip")
        .answers("application/zip"),
    )
    .await;
    run.send(
        call(
            "Get QR codes (Deprecated)",
            "GET",
            format!("/esims/qr/{reference}"),
        )
        .answers("application/zip"),
    )
    .await;
    run.send(
        call(
            "Get CSV of eSIMs (Deprecated)",
            "GET",
            format!("/esims/csv/{reference}"),
        )
        .answers("text/csv"),
    )
    .await;

    run.send(call("Get eSIM details", "GET", format!("/esims/{iccid}")))
        .await;
    run.send(call(
        "Get eSIM history",
        "GET",
        format!("/esims/{iccid}/history"),
    ))
    .await;
    run.send(call(
        "Refresh eSIM",
        "GET",
        format!("/esims/{iccid}/refresh"),
    ))
    .await;
    run.send(call(
        "Get eSIM Location",
        "GET",
        format!("/esims/{iccid}/location"),
    ))
    .await;
    run.send(call(
        "Check eSIM and Bundle Compatibility",
        "GET",
        format!("/esims/{iccid}/compatible/{JP_1GB}"),
    ))
    .await;
    run.send(
        call("Send SMS to eSIM", "POST", format!("/esims/{iccid}/sms"))
            .json(json!({"message": "message", "from": "eSIM"})),
    )
    .await;
    run.send(call(
        "Get applied Bundle status",
        "GET",
        format!("/esims/{iccid}/bundles/{JP_1GB}"),
    ))
    .await;
    let applied = run
        .send(call(
            "List Bundles applied to eSIM",
            "GET",
            format!("/esims/{iccid}/bundles"),
        ))
        .await;
    let assignments = applied["bundles"][0]["assignments"].as_array().unwrap();
    let ids: Vec<String> = assignments
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 3, "{applied}");
    run.send(call(
        "Revoke specific Bundle",
        "DELETE",
        format!(
            "/esims/{iccid}/bundles/{JP_1GB}/assignments/{}",
            ids[ids.len() - 1]
        ),
    ))
    .await;
    run.send(call(
        "Revoke a specific Bundle Assignment (Deprecated)",
        "DELETE",
        format!(
            "/esims/{iccid}/bundles/{JP_1GB}/applications/{}",
            ids[ids.len() - 2]
        ),
    ))
    .await;
    run.send(call(
        "Revoke applied Bundle",
        "DELETE",
        format!("/esims/{iccid}/bundles/{JP_1GB}"),
    ))
    .await;

    run.send(call(
        "Get Current Organisation Details",
        "GET",
        "/organisation",
    ))
    .await;
    run.send(call(
        "Topup Organisation Balance",
        "POST",
        "/organisation/balance?amount=100",
    ))
    .await;
    run.send(call("Get Bundle Groups", "GET", "/organisation/groups"))
        .await;
    run.finish();
    handle.shutdown().await;
}
