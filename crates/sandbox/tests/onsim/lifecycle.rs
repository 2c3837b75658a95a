//! Ceasing, refusals, injected faults and the purchase list.

use super::*;

#[tokio::test]
async fn ceasing_ends_a_line_for_good() {
    let f = fixture().await;
    let number = f.sandbox.reserved_numbers()[0].clone();
    let iccid = f
        .client
        .provision_line(&own_uc(&number, None, None))
        .await
        .unwrap()
        .iccid
        .unwrap();
    f.client.line(&number).await.unwrap();

    f.client.cease(&iccid).await.unwrap();
    assert!(matches!(
        f.client.line(&number).await,
        Err(ConnectorError::NotFound(_))
    ));
    assert!(matches!(
        f.client
            .line_esim(&LineRef::Mpn(number.clone()), false)
            .await,
        Err(ConnectorError::NotFound(_))
    ));
    for state in [InventoryState::Active, InventoryState::Reserved] {
        let numbers = f.client.numbers(state).await.unwrap();
        assert!(numbers.iter().all(|n| n.mpn != number), "{state:?}");
        let sims = f.client.sims(state, SimKind::All).await.unwrap();
        assert!(sims.iter().all(|s| s.iccid != iccid), "{state:?}");
    }
    assert!(
        f.client
            .subscribers(&SubscriberFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        f.client.cease(&iccid).await,
        Err(ConnectorError::NotFound(_))
    ));
    assert_refused(f.client.add_number(&number).await, 409, "NUMBER_EXISTS");
}

#[tokio::test]
async fn bad_credentials_are_unauthorized_and_unknown_lines_not_found() {
    let f = fixture().await;
    let stranger = client(&f.handle, "not-the-key", Duration::from_secs(5));
    let refused = stranger.line_catalogue().await;
    assert!(
        matches!(refused, Err(ConnectorError::Unauthorized { status: 401 })),
        "{refused:?}"
    );
    assert!(!format!("{stranger:?}").contains("not-the-key"));
    assert!(!refused.unwrap_err().to_string().contains("not-the-key"));

    let anonymous = reqwest::Client::new()
        .get(format!("{}/numbers/RESERVED", f.handle.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");

    assert!(matches!(
        f.client.line(&mpn("447700900999")).await,
        Err(ConnectorError::NotFound(_))
    ));
    assert!(matches!(
        f.client
            .set_recording(
                &mpn("447700900999"),
                Recording {
                    voice: true,
                    sms: true
                }
            )
            .await,
        Err(ConnectorError::NotFound(_))
    ));
}

#[tokio::test]
async fn injected_faults_are_retried_or_classified() {
    let f = fixture().await;
    let fault = |spec: Value| admin(&f.handle, "faults", spec);

    assert_eq!(
        fault(json!({"kind": "status", "status": 503, "retry_after_secs": 0, "times": 2})).await,
        StatusCode::CREATED
    );
    assert!(
        f.client.line_catalogue().await.is_ok(),
        "503s are retried until the sandbox answers"
    );
    fault(json!({"kind": "status", "status": 503, "retry_after_secs": 0, "times": 3})).await;
    assert!(matches!(
        f.client.line_catalogue().await,
        Err(ConnectorError::Unavailable { .. })
    ));
    fault(json!({"kind": "status", "status": 429, "retry_after_secs": 60})).await;
    assert!(matches!(
        f.client.groups().await,
        Err(ConnectorError::RateLimited { retry_after: Some(wait) }) if wait == Duration::from_secs(60)
    ));
    fault(json!({"kind": "status", "status": 500, "path": "/port"})).await;
    assert!(matches!(
        f.client.ports(PortState::All).await,
        Err(ConnectorError::ServerError { status: 500 })
    ));
    fault(json!({"kind": "malformed"})).await;
    assert!(matches!(
        f.client.groups().await,
        Err(ConnectorError::InvalidResponse(_))
    ));
    let impatient = client(&f.handle, DEFAULT_API_KEY, Duration::from_millis(200));
    fault(json!({"kind": "timeout", "ms": 2000})).await;
    assert!(matches!(
        impatient.groups().await,
        Err(ConnectorError::Timeout)
    ));
    assert!(f.client.groups().await.is_ok(), "every fault was used up");
}

#[tokio::test]
async fn the_purchase_list_holds_every_line_provisioned() {
    let f = fixture().await;
    let numbers = f.sandbox.reserved_numbers();
    assert!(common::listed(&f.handle).await.is_empty());
    f.client
        .provision_line(&own_uc(&numbers[0], None, None))
        .await
        .unwrap();
    // The same number again is refused and buys nothing.
    assert!(
        f.client
            .provision_line(&own_uc(&numbers[0], None, None))
            .await
            .is_err()
    );

    let purchases = common::listed(&f.handle).await;
    assert_eq!(purchases.len(), 1, "{purchases:?}");
    assert_eq!(purchases[0].reference, numbers[0].as_str());
    assert_eq!(purchases[0].caller_reference, None);
    assert_eq!(purchases[0].quantity, 1);
    assert!(!purchases[0].sku.is_empty());
    assert_eq!(purchases, f.sandbox.sold());
}
