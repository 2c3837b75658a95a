//! The ONSIM client against the ONSIM sandbox over real HTTP: every
//! operation of `SubscriberLines`, both documented shapes of an account,
//! short ICCIDs, refusals with ONSIM's codes, auth and injected faults.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use simgate_connectors::onsim::{OnsimClient, OnsimConfig};
use simgate_connectors::{ConnectorError, SubscriberLines};
use simgate_domain::{
    CountryCode, Group, Iccid, InventoryState, LineOfferKind, LineRef, LineSettings, LineUc,
    Msisdn, PortState, ProvisionLine, Recording, SimKind, SubscriberFilter,
};
use simgate_sandbox::onsim::{DEFAULT_API_KEY, SANDBOX_SMDP};
use simgate_sandbox::onsim::{OnsimSandbox, OnsimSandboxConfig};
use simgate_sandbox::simulator::SimulatorHandle;
use tokio::net::TcpListener;

mod changes;
mod inventory;
mod lifecycle;
mod provisioning;

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
