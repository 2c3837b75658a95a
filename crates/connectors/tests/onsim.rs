//! The ONSIM client against the ONSIM sandbox over real HTTP: every
//! operation of `SubscriberLines`, both documented shapes of an account,
//! short ICCIDs, refusals with ONSIM's codes, auth and injected faults.

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use simgate_connectors::onsim::sandbox::{DEFAULT_API_KEY, SANDBOX_SMDP};
use simgate_connectors::onsim::{OnsimClient, OnsimConfig, OnsimSandbox, OnsimSandboxConfig};
use simgate_connectors::simulator::SimulatorHandle;
use simgate_connectors::{ConnectorError, SubscriberLines};
use simgate_domain::{
    CountryCode, Group, Iccid, InventoryState, LineOfferKind, LineRef, LineSettings, LineUc,
    Msisdn, PortState, ProvisionLine, Recording, SimKind, SubscriberFilter,
};
use tokio::net::TcpListener;

struct Fixture {
    sandbox: OnsimSandbox,
    handle: SimulatorHandle,
    client: OnsimClient,
}

async fn fixture() -> Fixture {
    let sandbox = OnsimSandbox::new(OnsimSandboxConfig::default());
    let handle = sandbox
        .spawn(TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let client = client(&handle, DEFAULT_API_KEY, Duration::from_secs(5));
    Fixture {
        sandbox,
        handle,
        client,
    }
}

fn client(handle: &SimulatorHandle, key: &str, timeout: Duration) -> OnsimClient {
    OnsimClient::new(OnsimConfig {
        base_url: handle.base_url(),
        api_key: SecretString::from(key.to_owned()),
        timeout,
    })
    .unwrap()
}

/// Calls an admin hook and returns its status.
async fn admin(handle: &SimulatorHandle, path: &str, body: Value) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{}/__admin/{path}", handle.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

fn mpn(raw: &str) -> Msisdn {
    Msisdn::parse(raw).unwrap()
}

fn own_uc(mpn: &Msisdn, iccid: Option<&Iccid>, pbx_user: Option<&str>) -> ProvisionLine {
    ProvisionLine {
        mpn: mpn.clone(),
        iccid: iccid.cloned(),
        uc: LineUc::Own {
            pbx_user: pbx_user.map(str::to_owned),
            pbx_password: None,
        },
    }
}

fn onsim_uc(mpn: &Msisdn, iccid: Option<&Iccid>, group: &str) -> ProvisionLine {
    ProvisionLine {
        mpn: mpn.clone(),
        iccid: iccid.cloned(),
        uc: LineUc::Onsim {
            group_name: group.to_owned(),
            home_location: CountryCode::parse("GB").unwrap(),
            first_name: "John".to_owned(),
            last_name: "Smith".to_owned(),
            email: "j.smith@example.com".to_owned(),
            product: 18,
            mobile_data: "2GB".to_owned(),
        },
    }
}

fn group(name: &str, home_locations: &[&str]) -> Group {
    Group {
        name: name.to_owned(),
        home_locations: home_locations
            .iter()
            .map(|c| CountryCode::parse(c).unwrap())
            .collect(),
        address_line_1: Some("Example Building".to_owned()),
        address_line_2: Some("18 Example Street".to_owned()),
        city: Some("Example City".to_owned()),
        country: Some("United Kingdom".to_owned()),
        post_code: Some("SW1A 0AA".to_owned()),
        description: Some("Example Group for testing API".to_owned()),
    }
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, ConnectorError>, status: u16, code: &str) {
    match result {
        Err(ConnectorError::Provider {
            status: s, code: c, ..
        }) if s == status && c == code => {}
        other => panic!("expected a {status} {code} refusal, got {other:?}"),
    }
}

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

#[tokio::test]
async fn numbers_and_sims_are_listed_by_state_and_kind() {
    let f = fixture().await;
    let reserved = f.client.numbers(InventoryState::Reserved).await.unwrap();
    assert_eq!(reserved.len(), f.sandbox.reserved_numbers().len());
    assert!(reserved.len() >= 3);
    assert!(reserved.iter().all(|n| n.state == InventoryState::Reserved));
    assert!(
        f.client
            .numbers(InventoryState::Active)
            .await
            .unwrap()
            .is_empty()
    );

    let added = mpn("447700955501");
    f.client.add_number(&added).await.unwrap();
    let reserved = f.client.numbers(InventoryState::Reserved).await.unwrap();
    assert!(reserved.iter().any(|n| n.mpn == added));
    assert_refused(f.client.add_number(&added).await, 409, "NUMBER_EXISTS");

    for kind in [SimKind::All, SimKind::Esim, SimKind::Psim] {
        let sims = f.client.sims(InventoryState::Reserved, kind).await.unwrap();
        assert!(!sims.is_empty(), "{kind:?}");
        let iccids: Vec<Iccid> = sims.iter().map(|s| s.iccid.clone()).collect();
        assert_eq!(iccids, f.sandbox.reserved_sims(kind), "{kind:?}");
        assert!(
            sims.iter()
                .all(|s| s.state == InventoryState::Reserved && s.mpn.is_none())
        );
        assert!(sims.iter().all(|s| kind == SimKind::All || s.kind == kind));
    }
    assert!(
        f.client
            .sims(InventoryState::Active, SimKind::All)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn ports_are_listed_by_state_and_looked_up() {
    let f = fixture().await;
    let in_progress = f.client.ports(PortState::InProgress).await.unwrap();
    assert!(
        !in_progress.is_empty(),
        "the space in IN PROGRESS is encoded"
    );
    assert!(
        in_progress
            .iter()
            .all(|p| p.state == Some(PortState::InProgress) && p.provider_status == "IN PROGRESS")
    );
    for state in [
        PortState::Initial,
        PortState::Failed,
        PortState::Complete,
        PortState::Closed,
    ] {
        let ports = f.client.ports(state).await.unwrap();
        assert!(!ports.is_empty(), "{state:?}");
        assert!(ports.iter().all(|p| p.state == Some(state)), "{state:?}");
    }
    let all = f.client.ports(PortState::All).await.unwrap();
    assert!(all.len() > in_progress.len());
    let undocumented = all.iter().find(|p| p.state.is_none()).unwrap();
    assert_eq!(undocumented.provider_status, "ON HOLD");

    let port = f.client.port(&in_progress[0].id).await.unwrap();
    assert_eq!(port, in_progress[0]);
    assert!(port.pac.is_some() && port.port_in_number.is_some());
    assert!(port.direction.starts_with("PORT-"));
    assert!(matches!(
        f.client.port("999999").await,
        Err(ConnectorError::NotFound(_))
    ));
}

#[tokio::test]
async fn groups_are_added_listed_and_validated() {
    let f = fixture().await;
    assert!(f.client.groups().await.unwrap().is_empty());
    let travel = group("TRAVEL_CO", &["GB", "US"]);
    f.client.add_group(&travel).await.unwrap();
    assert_eq!(
        f.client.groups().await.unwrap(),
        std::slice::from_ref(&travel)
    );

    assert_refused(f.client.add_group(&travel).await, 409, "GROUP_EXISTS");
    assert_refused(
        f.client.add_group(&group("travel_co", &["GB"])).await,
        409,
        "GROUP_EXISTS",
    );
    for bad in ["_bad", "ab", "123", "has space", &"a".repeat(46)] {
        assert_refused(
            f.client.add_group(&group(bad, &["GB"])).await,
            400,
            "INVALID_GROUP_NAME",
        );
    }
    assert_refused(
        f.client.add_group(&group("FRENCH", &["FR"])).await,
        400,
        "INVALID_HOME_LOCATION",
    );
    let no_address = Group {
        address_line_1: None,
        ..group("NO_ADDRESS", &["GB"])
    };
    assert_refused(f.client.add_group(&no_address).await, 400, "MISSING_FIELD");
    assert_eq!(f.client.groups().await.unwrap().len(), 1);
}

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
