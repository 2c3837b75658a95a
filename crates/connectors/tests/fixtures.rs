//! Test (a) of issue 12: every documented answer, transcribed by hand from the
//! provider documents into `tests/fixtures/<provider>/`, parses with the
//! wire type the client reads it with.
//!
//! Client and simulator share one `types.rs`, so a wrong field name passes
//! both of them; these fixtures come from the documents instead, and catch it.
//! Each provider's `index.json` lists every documented endpoint with its
//! fixtures and the type that reads them (`parse_as`, `parse_as_request`).

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;
use simgate_connectors::{esim_go, esim_story, onsim, sim_local, telnyx};

/// The workspace's `tests/fixtures` directory.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn read(provider: &str, file: &str) -> String {
    let path = fixtures_dir().join(provider).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn index(provider: &str) -> Vec<Value> {
    let index: Value = serde_json::from_str(&read(provider, "index.json")).unwrap();
    assert_eq!(index["provider"], provider);
    index["endpoints"].as_array().unwrap().clone()
}

/// Parses `body` as `T`, naming the fixture on failure.
fn parses<T: DeserializeOwned>(provider: &str, file: &str, body: &str) -> T {
    serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{provider}/{file} does not parse as documented: {e}"))
}

fn check(provider: &str, type_name: &str, file: &str) {
    let body = read(provider, file);
    let p = provider;
    let f = file;
    let b = body.as_str();
    match (provider, type_name) {
        ("esim-go", "UsageCallback") => drop(parses::<esim_go::types::UsageCallback>(p, f, b)),
        ("esim-go", "ApplyBundle") => drop(parses::<esim_go::types::ApplyBundle>(p, f, b)),
        ("esim-go", "ApplyResponse") => drop(parses::<esim_go::types::ApplyResponse>(p, f, b)),
        ("esim-go", "HistoryList") => drop(parses::<Vec<esim_go::types::HistoryEntry>>(p, f, b)),
        ("esim-go", "MessageResponse") => drop(parses::<esim_go::types::MessageResponse>(p, f, b)),
        ("esim-go", "CompatibilityAnswer") => {
            let answer = parses::<esim_go::types::CompatibilityAnswer>(p, f, b);
            assert!(answer.message.is_some(), "the documented `message` is kept");
        }
        ("esim-go", "SmsRequest") => drop(parses::<esim_go::types::SmsRequest>(p, f, b)),
        ("esim-go", "StatusResponse") => drop(parses::<esim_go::types::StatusResponse>(p, f, b)),
        ("esim-go", "BundleStatus") => drop(parses::<esim_go::types::BundleStatus>(p, f, b)),
        ("esim-go", "EsimBundles") => drop(parses::<esim_go::types::EsimBundles>(p, f, b)),
        ("esim-go", "Location") => drop(parses::<esim_go::types::Location>(p, f, b)),
        ("esim-go", "EsimDetails") => drop(parses::<esim_go::types::EsimDetails>(p, f, b)),
        ("esim-go", "EsimList") => drop(parses::<esim_go::types::EsimList>(p, f, b)),
        ("esim-go", "UpdateEsim") => drop(parses::<esim_go::types::UpdateEsim>(p, f, b)),
        ("esim-go", "BalanceTopUp") => {
            let top_up = parses::<esim_go::types::BalanceTopUp>(p, f, b);
            assert!(top_up.amount.is_some() && top_up.balance.is_some());
            assert!(top_up.reference.is_some());
        }
        ("esim-go", "BundleGroups") => {
            let groups = parses::<esim_go::types::BundleGroups>(p, f, b);
            assert!(!groups.groups.is_empty());
        }
        ("esim-go", "OrganisationResponse") => {
            drop(parses::<esim_go::types::OrganisationResponse>(p, f, b));
        }
        ("esim-go", "OrderResponse") => {
            let order = parses::<esim_go::types::OrderResponse>(p, f, b);
            assert!(
                order.created_date.is_some(),
                "createDate or createdDate is read"
            );
        }
        ("esim-go", "OrderList") => {
            let orders = parses::<esim_go::types::OrderList>(p, f, b).into_orders();
            assert!(orders.iter().all(|o| o.created_date.is_some()));
        }
        ("esim-go", "OrderRequest") => {
            let order = parses::<esim_go::types::OrderRequest>(p, f, b);
            assert!(!order.order.is_empty(), "the documented `Order` is read");
        }
        ("esim-go", "InventoryRefund") => drop(parses::<esim_go::types::InventoryRefund>(p, f, b)),
        ("esim-go", "Inventory") => drop(parses::<esim_go::types::Inventory>(p, f, b)),
        ("esim-go", "Bundle") => drop(parses::<esim_go::types::Bundle>(p, f, b)),
        ("esim-go", "CataloguePage") => {
            let page = parses::<esim_go::types::CataloguePage>(p, f, b);
            assert!(!page.bundles.is_empty());
        }
        ("esim-go", "NetworksResponse") => {
            drop(parses::<esim_go::types::NetworksResponse>(p, f, b));
        }
        ("esim-go", "ErrorBody") => drop(parses::<esim_go::types::ErrorBody>(p, f, b)),

        ("sim-local", "FulfilmentWebhook") => {
            drop(parses::<sim_local::types::FulfilmentWebhook>(p, f, b));
        }
        ("sim-local", "Destinations") => {
            drop(parses::<Vec<sim_local::types::Destination>>(p, f, b));
        }
        ("sim-local", "ProductOfferings") => {
            drop(parses::<Vec<sim_local::types::ProductOffering>>(p, f, b));
        }
        ("sim-local", "FaultyReasons") => drop(parses::<Vec<String>>(p, f, b)),
        ("sim-local", "Order") => drop(parses::<sim_local::types::Order>(p, f, b)),
        ("sim-local", "OrderPage") => {
            let page = parses::<sim_local::types::OrderPage>(p, f, b);
            assert_eq!(page.content.len(), 1);
        }

        ("telnyx", "OrderList") => {
            drop(parses::<telnyx::types::ListOf<telnyx::types::SimCardOrder>>(p, f, b));
        }
        ("telnyx", "Order") => drop(parses::<telnyx::types::Data<telnyx::types::SimCardOrder>>(
            p, f, b,
        )),
        ("telnyx", "OrderBody") => drop(parses::<telnyx::types::OrderBody>(p, f, b)),
        ("telnyx", "Preview") => drop(parses::<
            telnyx::types::Data<telnyx::types::SimCardOrderPreview>,
        >(p, f, b)),
        ("telnyx", "ErrorBody") => drop(parses::<telnyx::types::ErrorBody>(p, f, b)),

        ("onsim", "AccountInfo") => {
            let info = parses::<onsim::types::AccountInfo>(p, f, b);
            assert_eq!(info.account.into_vec().len(), 1);
        }
        ("onsim", "RecordingUpdate") => drop(parses::<onsim::types::RecordingUpdate>(p, f, b)),
        ("onsim", "PbxInfo") => drop(parses::<onsim::types::PbxInfo>(p, f, b)),
        ("onsim", "EsimQuery") => drop(parses::<onsim::types::EsimQuery>(p, f, b)),
        ("onsim", "EsimStatus") => drop(parses::<onsim::types::EsimStatus>(p, f, b)),
        ("onsim", "GenerateQr") => drop(parses::<onsim::types::GenerateQr>(p, f, b)),
        ("onsim", "QrUrl") => {
            let url = parses::<String>(p, f, b);
            assert!(url.starts_with("https://"));
        }
        ("onsim", "Cease") => drop(parses::<onsim::types::Cease>(p, f, b)),
        ("onsim", "Catalogue") => drop(parses::<onsim::types::Catalogue>(p, f, b)),
        ("onsim", "ProvisionOwnUc") => drop(parses::<onsim::types::ProvisionOwnUc>(p, f, b)),
        ("onsim", "ProvisionOnsimUc") => drop(parses::<onsim::types::ProvisionOnsimUc>(p, f, b)),
        ("onsim", "Provisioned") => drop(parses::<onsim::types::Provisioned>(p, f, b)),
        ("onsim", "SubscriberQuery") => drop(parses::<onsim::types::SubscriberQuery>(p, f, b)),
        ("onsim", "GroupRecord") => drop(parses::<onsim::types::GroupRecord>(p, f, b)),
        ("onsim", "PortLookup") => drop(parses::<onsim::types::PortLookup>(p, f, b)),
        ("onsim", "PortList") => {
            let ports = parses::<onsim::types::PortList>(p, f, b);
            assert_eq!(ports.port.into_vec().len(), 1);
        }

        ("esim-story", "OrderRequest") => drop(parses::<esim_story::types::OrderRequest>(p, f, b)),
        ("esim-story", "OrderResponse") => {
            drop(parses::<esim_story::types::OrderResponse>(p, f, b));
        }
        ("esim-story", "PlainErrorBody") => {
            drop(parses::<esim_story::types::PlainErrorBody>(p, f, b));
        }
        ("esim-story", "AuthErrorBody") => {
            drop(parses::<esim_story::types::AuthErrorBody>(p, f, b));
        }
        ("esim-story", "ValidationErrorBody") => {
            drop(parses::<esim_story::types::ValidationErrorBody>(p, f, b));
        }
        ("esim-story", "EsimReady") => drop(parses::<esim_story::types::EsimReady>(p, f, b)),
        _ => panic!("{provider}/{file}: no reader known for {type_name}"),
    }
}

/// Parses every fixture an index names and checks the index and the
/// directory agree; returns the number of documented operations.
fn check_provider(provider: &str) -> usize {
    let mut named = BTreeSet::new();
    let mut operations = BTreeSet::new();
    for endpoint in index(provider) {
        let method = endpoint["method"].as_str().unwrap();
        let path = endpoint["path"].as_str().unwrap();
        assert!(
            endpoint["status"].as_u64().is_some(),
            "{method} {path}: status"
        );
        assert!(
            endpoint["source"].as_str().is_some(),
            "{method} {path}: source"
        );
        if method != "*" {
            operations.insert(format!("{method} {path}"));
        }
        for (fixture, reader) in [("response", "parse_as"), ("request", "parse_as_request")] {
            let Some(file) = endpoint[fixture].as_str() else {
                continue;
            };
            named.insert(file.to_owned());
            match endpoint[reader].as_str() {
                Some(type_name) => check(provider, type_name, file),
                None => assert!(
                    endpoint["note"].as_str().is_some(),
                    "{provider}/{file}: no reader and no note saying why"
                ),
            }
        }
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures_dir().join(provider))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "index.json")
        .collect();
    assert_eq!(
        on_disk, named,
        "{provider}: fixtures on disk and in index.json"
    );
    operations.len()
}

#[test]
fn esim_go_client_parses_every_documented_answer() {
    assert_eq!(check_provider("esim-go"), 31);
}

#[test]
fn sim_local_client_parses_every_documented_answer() {
    assert_eq!(check_provider("sim-local"), 8);
}

#[test]
fn telnyx_client_parses_every_documented_answer() {
    assert_eq!(check_provider("telnyx"), 4);
}

#[test]
fn onsim_client_parses_every_documented_answer() {
    assert_eq!(check_provider("onsim"), 18);
}

#[test]
fn esim_story_client_parses_every_documented_answer() {
    assert_eq!(check_provider("esim-story"), 2);
}
