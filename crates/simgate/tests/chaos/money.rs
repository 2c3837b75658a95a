//! Money under chaos: a tenant funded for exactly `n` orders of one price,
//! `3n` orders sent at once. Afterwards:
//!
//! - exactly `n` orders completed, the balance is exactly zero and nothing
//!   is held;
//! - the balance and the available amount never went below zero: the
//!   account is sampled throughout the run, and the ledger holds nothing
//!   but the one credit, holds, releases and captures, so its balance only
//!   ever fell (its lowest point is its final zero);
//! - every completed order was captured once (each of its other holds
//!   released), every failed order's holds were all released, and no
//!   order's hold is left open.

use super::*;

/// How the run's tenant is funded.
#[derive(Clone, Copy, Debug)]
pub(super) enum Funding {
    /// Far more than the run spends: money never refuses an order.
    Ample,
    /// Exactly enough for this many orders of one product at its price;
    /// three times as many are sent.
    Exactly(usize),
}

impl Funding {
    /// Orders the clients send.
    pub(super) fn orders(self) -> usize {
        match self {
            Self::Ample => ORDERS,
            Self::Exactly(n) => 3 * n,
        }
    }

    /// Orders issued when the victim is killed: a third of the run, or,
    /// when money runs out, halfway to the orders it can pay for, so the
    /// kill lands while holds are still being taken.
    pub(super) fn kill_at(self) -> usize {
        match self {
            Self::Ample => ORDERS / 3,
            Self::Exactly(n) => n / 2,
        }
    }
}

/// The lowest balance and available amount seen by a sampler of
/// `GET /v1/account` running beside the clients.
#[derive(Default)]
pub(super) struct Lowest {
    pub(super) balance: Option<Decimal>,
    pub(super) available: Option<Decimal>,
    pub(super) samples: usize,
}

/// `amount` of a money object (`{"amount": "1.50", "currency": "USD"}`).
pub(super) fn amount(money: &Value) -> Decimal {
    let text = match &money["amount"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.parse()
        .unwrap_or_else(|_| panic!("a decimal amount in {money}"))
}

/// The JSON of a 200 answer to the tenant's GET of `url`.
pub(super) async fn get_json(http: &reqwest::Client, url: &str, key: &str) -> Option<Value> {
    let response = http.get(url).bearer_auth(key).send().await.ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    response.json().await.ok()
}

pub(super) async fn account(http: &reqwest::Client, url: &str, key: &str) -> Option<Value> {
    get_json(http, &format!("{url}/v1/account"), key).await
}

/// Samples the account until `running` turns false.
pub(super) async fn sample(
    http: reqwest::Client,
    url: String,
    key: String,
    running: Arc<AtomicBool>,
) -> Lowest {
    let mut lowest = Lowest::default();
    while running.load(Ordering::SeqCst) {
        if let Some(account) = account(&http, &url, &key).await {
            let (balance, available) = (amount(&account["balance"]), amount(&account["available"]));
            lowest.balance = Some(lowest.balance.map_or(balance, |l| l.min(balance)));
            lowest.available = Some(lowest.available.map_or(available, |l| l.min(available)));
            lowest.samples += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lowest
}

/// Once the run has settled, orders are placed one at a time, faults
/// cleared, until the account cannot pay for another: a hold released
/// after the last of the `3n` was refused would otherwise leave money that
/// no order spent. Returns the ids placed.
pub(super) async fn spend_the_rest(
    clients: &Clients,
    run: &str,
    price: Decimal,
    limit: usize,
    ledger: &Mutex<Ledger>,
) -> Vec<String> {
    let url = &clients.urls[0];
    let mut placed = Vec::new();
    for round in 0..limit {
        let account = account(&clients.http, url, &clients.key)
            .await
            .expect("the account");
        if amount(&account["available"]) < price {
            break;
        }
        let key = format!("{run}-rest-{round}");
        let Some(id) = clients.post_until_answered(0, 0, &key, ledger).await else {
            break;
        };
        eventually(Duration::from_secs(30), "a final order", || async {
            let order = get_json(
                &clients.http,
                &format!("{url}/v1/orders/{id}"),
                &clients.key,
            )
            .await?;
            is_final(&order).then_some(())
        })
        .await;
        placed.push(id);
    }
    ledger.lock().await.ids.extend(placed.iter().cloned());
    placed
}

/// Ledger entries of one order, by kind.
#[derive(Default, Debug)]
struct Moves {
    holds: usize,
    releases: usize,
    captures: usize,
}

/// Judges the money of a run funded with [`Funding::Exactly`]; the
/// failures found, empty when every promise held.
pub(super) async fn judge_money(
    database_url: &str,
    tenant_id: &str,
    orders: &[Value],
    paid_for: usize,
    lowest: &Lowest,
) -> Vec<String> {
    let mut failures = Vec::new();
    // A SQLite run never made a PostgreSQL database, which installs them.
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let row: (i64, i64) =
        sqlx::query_as("SELECT balance_micros, held_micros FROM accounts WHERE tenant_id = $1")
            .bind(tenant_id.to_owned())
            .fetch_one(&mut db)
            .await
            .unwrap();
    if row != (0, 0) {
        failures.push(format!(
            "the account ends at balance {} µ and held {} µ, not zero",
            row.0, row.1
        ));
    }
    let entries: Vec<(String, Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT kind, order_id, amount_micros, held_micros FROM ledger_entries WHERE tenant_id = $1",
    )
    .bind(tenant_id.to_owned())
    .fetch_all(&mut db)
    .await
    .unwrap();
    let (balance, held) = entries.iter().fold((0, 0), |(b, h), e| (b + e.2, h + e.3));
    if (balance, held) != row {
        failures.push(format!(
            "the ledger sums to ({balance}, {held}) µ but the account says {row:?}"
        ));
    }
    let credits = entries.iter().filter(|e| e.0 == "credit").count();
    let odd: Vec<&String> = entries
        .iter()
        .map(|e| &e.0)
        .filter(|k| !matches!(k.as_str(), "credit" | "hold" | "release" | "capture"))
        .collect();
    if credits != 1 || !odd.is_empty() {
        failures.push(format!(
            "the ledger should hold one credit and order moves only: {credits} credits, others {odd:?}"
        ));
    }
    let mut moves: BTreeMap<String, Moves> = BTreeMap::new();
    for (kind, order, _, _) in &entries {
        let Some(order) = order else { continue };
        let entry = moves.entry(order.clone()).or_default();
        match kind.as_str() {
            "hold" => entry.holds += 1,
            "release" => entry.releases += 1,
            "capture" => entry.captures += 1,
            _ => {}
        }
    }
    let mut completed = 0;
    for order in orders {
        let id = order["id"].as_str().unwrap();
        let seen = moves.remove(id).unwrap_or_default();
        let ok = match order["status"].as_str() {
            Some("completed") => {
                completed += 1;
                seen.captures == 1 && seen.holds == seen.releases + 1
            }
            Some("failed") => seen.captures == 0 && seen.holds == seen.releases,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "order {id} ({}) moved money {seen:?}",
                order["status"]
            ));
        }
    }
    if !moves.is_empty() {
        failures.push(format!(
            "ledger entries of orders the API never listed: {moves:?}"
        ));
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND hold_state = 'open'",
    )
    .bind(tenant_id.to_owned())
    .fetch_one(&mut db)
    .await
    .unwrap();
    if open != 0 {
        failures.push(format!("{open} orders still hold money"));
    }
    if completed != paid_for {
        failures.push(format!(
            "{completed} orders completed; the account paid for exactly {paid_for}"
        ));
    }
    let below_zero = |lowest: Option<Decimal>| lowest.is_some_and(|l| l < Decimal::ZERO);
    if below_zero(lowest.balance) || below_zero(lowest.available) || lowest.samples == 0 {
        failures.push(format!(
            "the account went below zero or was never sampled: lowest balance {:?}, available {:?}, {} samples",
            lowest.balance, lowest.available, lowest.samples
        ));
    }
    failures
}
