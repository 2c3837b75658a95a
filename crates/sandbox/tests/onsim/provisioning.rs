//! The catalogue, provisioning on either UC, and reading an account.

use super::*;

#[tokio::test]
async fn the_catalogue_lists_products_and_bundles() {
    let f = fixture().await;
    let offers = f.client.line_catalogue().await.unwrap();
    let find = |id: &str| offers.iter().find(|o| o.id == id).unwrap();
    assert_eq!(find("18").kind, LineOfferKind::Product);
    assert_eq!(find("18").data_mb, None);
    assert_eq!(find("BASE").data_mb, Some(0));
    assert_eq!(find("2GB").data_mb, Some(2048));
    assert_eq!(find("UNLIMITED").kind, LineOfferKind::Bundle);
    assert_eq!(find("UNLIMITED").data_mb, None);
}

#[tokio::test]
async fn own_uc_lines_take_the_next_esim_or_a_printed_iccid() {
    let f = fixture().await;
    let numbers = f.sandbox.reserved_numbers();
    let next_esim = f.sandbox.reserved_sims(SimKind::Esim)[0].clone();

    let with_password = ProvisionLine {
        uc: LineUc::Own {
            pbx_user: None,
            pbx_password: Some("s3cret-pbx".to_owned()),
        },
        ..own_uc(&numbers[0], None, None)
    };
    let esim_line = f.client.provision_line(&with_password).await.unwrap();
    assert_eq!(esim_line.iccid.as_ref(), Some(&next_esim));
    let code = esim_line.activation_code.clone().unwrap();
    assert_eq!(code.smdp_address, SANDBOX_SMDP);
    assert_eq!(
        esim_line.sip_username.as_deref(),
        Some(format!("ONSIM{}", &next_esim.as_str()[..19]).as_str())
    );
    assert_eq!(esim_line.pbx_password.as_deref(), Some("s3cret-pbx"));
    assert!(!format!("{esim_line:?}").contains("s3cret-pbx"));

    // ONSIM refuses a printed (20-digit) ICCID; the client sends the short form.
    let psim = f.sandbox.reserved_sims(SimKind::Psim)[0].clone();
    assert_eq!(psim.as_str().len(), 20);
    let printed = reqwest::Client::new()
        .post(format!("{}/reseller/provision", f.handle.base_url()))
        .bearer_auth(DEFAULT_API_KEY)
        .json(&json!({"mpn": numbers[1].as_str(), "iccid": psim.as_str()}))
        .send()
        .await
        .unwrap();
    assert_eq!(printed.status(), StatusCode::BAD_REQUEST);
    let body: Value = printed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INVALID_ICCID");
    let psim_line = f
        .client
        .provision_line(&own_uc(&numbers[1], Some(&psim), Some("USER12345")))
        .await
        .unwrap();
    assert_eq!(psim_line.iccid.as_ref(), Some(&psim));
    assert_eq!(psim_line.activation_code, None);
    assert_eq!(psim_line.sip_username.as_deref(), Some("USER12345"));
    assert!(psim_line.pbx_password.is_some_and(|p| !p.is_empty()));
    assert_eq!(
        f.client.line(&numbers[1]).await.unwrap().iccid,
        Some(psim.clone())
    );

    let active_psims = f
        .client
        .sims(InventoryState::Active, SimKind::Psim)
        .await
        .unwrap();
    assert_eq!(active_psims.len(), 1);
    assert_eq!(active_psims[0].iccid, psim);
    assert_eq!(active_psims[0].mpn.as_ref(), Some(&numbers[1]));
    let active: Vec<Msisdn> = f
        .client
        .numbers(InventoryState::Active)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.mpn)
        .collect();
    assert_eq!(active, numbers[..2].to_vec());
    assert_refused(
        f.client
            .line_esim(&LineRef::Mpn(numbers[1].clone()), false)
            .await,
        422,
        "NOT_AN_ESIM",
    );

    // Refusals carry ONSIM's codes, and never the password sent.
    let stranger = ProvisionLine {
        uc: with_password.uc.clone(),
        ..own_uc(&mpn("447700911911"), None, None)
    };
    let refused = f.client.provision_line(&stranger).await;
    assert!(!format!("{refused:?}").contains("s3cret-pbx"));
    assert_refused(refused, 422, "NUMBER_NOT_IN_INVENTORY");
    assert_refused(
        f.client
            .provision_line(&own_uc(&numbers[0], None, None))
            .await,
        409,
        "NUMBER_IN_USE",
    );
    assert_refused(
        f.client
            .provision_line(&own_uc(&numbers[2], Some(&psim), None))
            .await,
        409,
        "SIM_IN_USE",
    );
    let unknown_sim = Iccid::with_check_digit("8944530000000099999").unwrap();
    assert_refused(
        f.client
            .provision_line(&own_uc(&numbers[2], Some(&unknown_sim), None))
            .await,
        422,
        "SIM_NOT_IN_INVENTORY",
    );
    assert_eq!(
        f.sandbox.reserved_numbers()[0],
        numbers[2],
        "a refused provisioning holds nothing"
    );
}

#[tokio::test]
async fn onsim_uc_lines_need_a_known_group_product_and_location() {
    let f = fixture().await;
    let numbers = f.sandbox.reserved_numbers();
    f.client
        .add_group(&group("TRAVEL_CO", &["GB"]))
        .await
        .unwrap();

    let line = f
        .client
        .provision_line(&onsim_uc(&numbers[0], None, "TRAVEL_CO"))
        .await
        .unwrap();
    assert!(line.activation_code.is_some());
    assert!(line.pbx_password.is_some());
    assert!(line.sip_username.unwrap().starts_with("ONSIM89"));
    let bundle = f.client.line(&numbers[0]).await.unwrap().bundle.unwrap();
    assert_eq!(
        (bundle.name.as_str(), bundle.allowance_mb),
        ("2GB", Some(2048))
    );

    let esim = f.sandbox.reserved_sims(SimKind::Esim).pop().unwrap();
    let chosen = f
        .client
        .provision_line(&onsim_uc(&numbers[1], Some(&esim), "TRAVEL_CO"))
        .await
        .unwrap();
    assert_eq!(chosen.iccid, Some(esim));

    assert_refused(
        f.client
            .provision_line(&onsim_uc(&numbers[2], None, "NO_SUCH_GROUP"))
            .await,
        422,
        "GROUP_NOT_FOUND",
    );
    let mut unknown_product = onsim_uc(&numbers[2], None, "TRAVEL_CO");
    let mut elsewhere = unknown_product.clone();
    if let LineUc::Onsim { product, .. } = &mut unknown_product.uc {
        *product = 99;
    }
    assert_refused(
        f.client.provision_line(&unknown_product).await,
        400,
        "INVALID_PRODUCT",
    );
    if let LineUc::Onsim { home_location, .. } = &mut elsewhere.uc {
        *home_location = CountryCode::parse("DE").unwrap();
    }
    assert_refused(
        f.client.provision_line(&elsewhere).await,
        400,
        "INVALID_HOME_LOCATION",
    );
}

#[tokio::test]
async fn account_info_is_read_as_an_array_and_as_an_object() {
    let f = fixture().await;
    let numbers = f.sandbox.reserved_numbers();
    let mut shapes = Vec::new();
    for mpn in &numbers[..2] {
        f.client
            .provision_line(&own_uc(mpn, None, None))
            .await
            .unwrap();
        let raw: Value = reqwest::Client::new()
            .get(format!("{}/account/{mpn}", f.handle.base_url()))
            .bearer_auth(DEFAULT_API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        shapes.push(raw["account"].is_array());

        let line = f.client.line(mpn).await.unwrap();
        assert_eq!(&line.mpn, mpn);
        assert!(line.iccid.is_some());
        assert!(line.account_id.is_some());
        assert!(line.sip_address.unwrap().contains('@'));
        let services = line.services;
        assert!(services.mobile_data && services.mobile_voice && services.mobile_messaging);
        assert!(!services.mobile_hotspot);
        let bundle = line.bundle.unwrap();
        assert_eq!(bundle.name, "BASE");
        assert_eq!((bundle.allowance_mb, bundle.used_mb), (Some(0), Some(0)));
        assert!(bundle.period_from.unwrap() < bundle.period_to.unwrap());
    }
    shapes.sort_unstable();
    assert_eq!(shapes, [false, true], "one object, one array");
}
