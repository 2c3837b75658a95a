//! eSIM codes, bundles, settings and recording of a live line.

use super::*;

#[tokio::test]
async fn esim_codes_refresh_until_installed() {
    let f = fixture().await;
    let number = f.sandbox.reserved_numbers()[0].clone();
    let provisioned = f
        .client
        .provision_line(&own_uc(&number, None, None))
        .await
        .unwrap();
    let first = provisioned.activation_code.unwrap();
    let iccid = provisioned.iccid.unwrap();
    let by_mpn = LineRef::Mpn(number.clone());

    let esim = f.client.line_esim(&by_mpn, false).await.unwrap();
    assert_eq!(esim.activation_code, first);
    assert_eq!(esim.status, "ready to install");
    assert_eq!(esim.enabled_on_device, Some(false));
    assert_eq!(esim.refresh, None);

    let refreshed = f.client.line_esim(&by_mpn, true).await.unwrap();
    assert_ne!(
        refreshed.activation_code, first,
        "a new code before install"
    );
    assert_eq!(refreshed.refresh.as_deref(), Some("esim code refreshed"));
    let second = refreshed.activation_code;
    let account = f.client.line(&number).await.unwrap().account_id.unwrap();
    for line in [LineRef::Iccid(iccid), LineRef::Account(account)] {
        let esim = f.client.line_esim(&line, false).await.unwrap();
        assert_eq!(esim.activation_code, second, "{line:?}");
    }

    assert_eq!(
        admin(&f.handle, &format!("accounts/{number}/install"), json!({})).await,
        StatusCode::NO_CONTENT
    );
    let installed = f.client.line_esim(&by_mpn, true).await.unwrap();
    assert_eq!(
        installed.activation_code, second,
        "no new code once installed"
    );
    assert_eq!(installed.status, "installed");
    assert_eq!(installed.enabled_on_device, Some(true));
    assert_eq!(installed.refresh.as_deref(), Some("error"));

    let url = f.client.provider_qr_url(&second).await.unwrap();
    assert!(
        url.starts_with(&format!("{}/__qr/", f.handle.base_url())),
        "{url}"
    );
    assert!(url.contains(".png"));

    assert_eq!(
        admin(&f.handle, "accounts/447700900999/install", json!({})).await,
        StatusCode::NOT_FOUND
    );
    assert!(matches!(
        f.client
            .line_esim(&LineRef::Mpn(mpn("447700900999")), false)
            .await,
        Err(ConnectorError::NotFound(_))
    ));
}

#[tokio::test]
async fn bundles_settings_and_recording_change_the_line() {
    let f = fixture().await;
    let numbers = f.sandbox.reserved_numbers();
    let number = numbers[0].clone();
    f.client.add_group(&group("ACME", &["GB"])).await.unwrap();
    f.client
        .provision_line(&onsim_uc(&number, None, "ACME"))
        .await
        .unwrap();
    f.client
        .provision_line(&own_uc(&numbers[1], None, None))
        .await
        .unwrap();

    f.client.change_bundle(&number, "10GB").await.unwrap();
    assert_eq!(
        admin(
            &f.handle,
            &format!("accounts/{number}/usage"),
            json!({"mb": 240})
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let bundle = f.client.line(&number).await.unwrap().bundle.unwrap();
    assert_eq!(bundle.name, "10GB");
    assert_eq!(
        (bundle.allowance_mb, bundle.used_mb, bundle.remaining_mb),
        (Some(10_240), Some(240), Some(10_000))
    );
    f.client.change_bundle(&number, "UNLIMITED").await.unwrap();
    let bundle = f.client.line(&number).await.unwrap().bundle.unwrap();
    assert_eq!(
        (
            bundle.name.as_str(),
            bundle.allowance_mb,
            bundle.remaining_mb
        ),
        ("UNLIMITED", None, None)
    );
    assert_refused(
        f.client.change_bundle(&number, "HUGE").await,
        400,
        "INVALID_BUNDLE",
    );
    assert!(matches!(
        f.client.change_bundle(&mpn("447700900999"), "BASE").await,
        Err(ConnectorError::NotFound(_))
    ));

    let settings = LineSettings {
        mobile_hotspot: Some(true),
        mobile_data: Some(false),
        pbx_password: Some("new-sip-secret".to_owned()),
        ..LineSettings::default()
    };
    f.client.update_settings(&number, &settings).await.unwrap();
    let services = f.client.line(&number).await.unwrap().services;
    assert!(services.mobile_hotspot && !services.mobile_data);
    assert!(services.mobile_voice && services.mobile_messaging);

    // A new number moves the line; the old one returns to the reserve.
    let moved_to = numbers[2].clone();
    let iccid = f.client.line(&number).await.unwrap().iccid;
    let renumber = LineSettings {
        mpn: Some(moved_to.clone()),
        ..LineSettings::default()
    };
    f.client.update_settings(&number, &renumber).await.unwrap();
    assert!(matches!(
        f.client.line(&number).await,
        Err(ConnectorError::NotFound(_))
    ));
    assert_eq!(f.client.line(&moved_to).await.unwrap().iccid, iccid);
    assert!(f.sandbox.reserved_numbers().contains(&number));
    let taken = LineSettings {
        mpn: Some(numbers[1].clone()),
        ..LineSettings::default()
    };
    assert_refused(
        f.client.update_settings(&moved_to, &taken).await,
        422,
        "NUMBER_NOT_AVAILABLE",
    );

    f.client
        .set_recording(
            &moved_to,
            Recording {
                voice: true,
                sms: false,
            },
        )
        .await
        .unwrap();
    let listed = |filter: SubscriberFilter| {
        let client = &f.client;
        async move {
            client
                .subscribers(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.mpn)
                .collect::<Vec<_>>()
        }
    };
    let everyone = f
        .client
        .subscribers(&SubscriberFilter::default())
        .await
        .unwrap();
    assert_eq!(everyone.len(), 2);
    assert!(everyone.iter().all(|s| s.state == "PROVISIONED"));
    assert!(
        everyone
            .iter()
            .all(|s| s.iccid.as_ref().unwrap().as_str().len() == 20)
    );
    let recorded = SubscriberFilter {
        is_recorded: Some(true),
        ..SubscriberFilter::default()
    };
    assert_eq!(listed(recorded).await, std::slice::from_ref(&moved_to));
    let unrecorded = SubscriberFilter {
        is_recorded: Some(false),
        ..SubscriberFilter::default()
    };
    assert_eq!(listed(unrecorded).await, [numbers[1].clone()]);
    let in_group = |name: &str| SubscriberFilter {
        group: Some(name.to_owned()),
        ..SubscriberFilter::default()
    };
    assert_eq!(
        listed(in_group("ACME")).await,
        std::slice::from_ref(&moved_to)
    );
    assert!(listed(in_group("OTHER")).await.is_empty());
    let ceased = SubscriberFilter {
        state: Some("CEASED".to_owned()),
        ..SubscriberFilter::default()
    };
    assert!(listed(ceased).await.is_empty());

    f.client
        .set_recording(
            &moved_to,
            Recording {
                voice: false,
                sms: false,
            },
        )
        .await
        .unwrap();
    let recorded = SubscriberFilter {
        is_recorded: Some(true),
        ..SubscriberFilter::default()
    };
    assert!(listed(recorded).await.is_empty());
}
