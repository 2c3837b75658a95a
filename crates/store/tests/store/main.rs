//! The store's guarantees, on both back-ends: SQLite files and a real
//! PostgreSQL server (a fresh database per test).

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use chrono::Utc;
use rust_decimal::Decimal;
use simgate_domain::entities::{EsimFilter, RepositoryError, SalePrice};
use simgate_domain::repository::*;
use simgate_domain::{
    ActivationCode, CountryCode, Currency, DataAllowance, Iccid, InstallDetails, Money, Msisdn,
    NewAddress, OrderId, OrderKind, OrderStatus, Product, ProductId, ProviderId, ShippingAddress,
    SimOrder, SimOrderStatus,
};
use simgate_store::{
    InsertOutcome, Lease, LineActivation, LineStatus, NewOrder, ProductFilter, ProductSort,
    Recorded, SimOrderAnswer, SimOrderInsert, SimOrderState, Store, UpstreamAnswer, hash_api_key,
};
use sqlx::Connection;

mod answers;
mod endpoint_secrets;
mod leases;
mod limits;
mod lines;
mod orders;
mod retention;
mod routing;
mod search;
mod sessions;
mod sim_orders;
mod tenants;

use answers::*;
use leases::*;
use limits::*;
use lines::*;
use orders::*;
use routing::*;
use search::*;
use sessions::*;
use sim_orders::*;
use tenants::*;

async fn sqlite() -> (Store, tempfile::TempDir) {
    let (store, _, dir) = sqlite_at().await;
    (store, dir)
}

/// A store on a new SQLite file, and its URL for direct connections.
async fn sqlite_at() -> (Store, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (Store::connect(&url).await.unwrap(), url, dir)
}

async fn postgres() -> Store {
    postgres_at().await.0
}

/// A store on a new PostgreSQL database, and its URL for direct connections.
async fn postgres_at() -> (Store, String) {
    sqlx::any::install_default_drivers();
    let server = std::env::var("SIMGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("simgate_store_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL must be running for the test suite (see .ci/run)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{server}/{name}");
    (Store::connect(&url).await.unwrap(), url)
}

fn usd(amount: &str) -> Money {
    Money::new(
        Decimal::from_str(amount).unwrap(),
        Currency::parse("USD").unwrap(),
    )
    .unwrap()
}

fn product(sku: &str, countries: &[&str], mb: Option<u64>, price: &str) -> Product {
    Product {
        id: ProductId::new(ProviderId::EsimGo, sku),
        name: sku.to_owned(),
        countries: countries
            .iter()
            .map(|c| CountryCode::parse(c).unwrap())
            .collect(),
        data: mb.map_or(DataAllowance::Unlimited, |mb| DataAllowance::Limited { mb }),
        validity_days: 7,
        price: usd(price),
    }
}

fn new_order(tenant: &str, key: Option<&str>) -> NewOrder {
    NewOrder {
        tenant_id: tenant.to_owned(),
        idempotency_key: key.map(str::to_owned),
        request_hash: "h".into(),
        product_id: ProductId::new(ProviderId::EsimGo, "esim_1GB_7D_JP_V2"),
        kind: OrderKind::NewEsim,
        quantity: 1,
        unit_price: usd("1.365"),
        sale: SalePrice {
            price: usd("1.99"),
            margin: usd("0.625"),
        },
        offer_id: None,
        candidates: Vec::new(),
        submitted_at: None,
        hold: None,
    }
}

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let (store, _dir) = super::sqlite().await;
                    super::$scenario(store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::postgres().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    concurrent_inserts_with_one_key_make_one_order,
    only_one_worker_claims_an_order,
    an_order_written_claimed_is_sent_at_its_first_fence,
    one_upstream_order_links_to_one_local_order,
    catalogue_replacement_and_search,
    api_keys_are_stored_hashed,
    tenant_names_are_unique_and_keys_can_be_replaced_or_disabled,
    sim_orders_are_written_first_keyed_and_paged,
    a_number_is_one_tenants_line_until_ceased,
    a_tenant_holds_its_live_lines_only,
    a_stale_read_cannot_reopen_or_resend,
    concurrent_batch_claims_get_disjoint_sets,
    an_expired_lease_is_taken_over,
    stuck_rows_cannot_starve_a_fresh_one,
    a_superseded_answer_is_recorded,
    a_stale_match_is_not_taken,
    routing_policies_are_kept_per_tenant,
    the_sale_price_moves_only_with_its_candidate,
    sessions_expire_switch_and_end,
    a_revoked_credential_ends_its_sessions,
    esims_are_listed_per_tenant_filtered_and_paged,
    an_orders_events_are_read_by_order_and_tenant,
    limit_overrides_are_kept_per_tenant,
    caps_hold_under_concurrent_writers,
);
