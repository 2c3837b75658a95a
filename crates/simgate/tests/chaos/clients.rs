//! The clients that place orders and keep a ledger of every answer.

use super::*;

/// What the clients learnt: each order id an answer named, by plan item.
#[derive(Default)]
pub(super) struct Ledger {
    /// Order ids the API returned (201, 200 or a problem's `order_id`).
    pub(super) ids: BTreeSet<String>,
    pub(super) requests: usize,
    /// Answers that are no part of the contract (e.g. a 500, or two ids
    /// for one key).
    pub(super) anomalies: Vec<String>,
    /// 402 `insufficient_funds` answers: nothing written, nothing bought.
    pub(super) refused: usize,
}

/// One planned order: how it is sent.
#[derive(Clone, Copy)]
pub(super) enum Sending {
    /// A fresh key, once.
    Once,
    /// A key sent, then sent again to the next instance.
    Again,
    /// A key sent to two instances at the same time.
    Together,
    /// No key (only to instances that are never killed).
    Keyless,
}

pub(super) fn plan(item: usize) -> Sending {
    match item % 10 {
        0..=4 => Sending::Once,
        5 | 6 => Sending::Again,
        7 | 8 => Sending::Together,
        _ => Sending::Keyless,
    }
}

/// The outcome of one POST /v1/orders.
pub(super) enum Answer {
    Order(String),
    /// 402 `insufficient_funds`: the account cannot pay for it.
    Refused,
    /// The instance could not be reached or dropped the connection.
    Unreachable,
    Unexpected(String),
}

pub(super) struct Clients {
    pub(super) http: reqwest::Client,
    pub(super) key: String,
    pub(super) urls: Vec<String>,
    pub(super) products: Vec<String>,
    pub(super) max_quantity: usize,
}

impl Clients {
    pub(super) async fn post(&self, instance: usize, item: usize, key: Option<&str>) -> Answer {
        let product = &self.products[item % self.products.len()];
        let mut request = self
            .http
            .post(format!("{}/v1/orders", self.urls[instance]))
            .bearer_auth(&self.key)
            .json(&json!({"product_id": product, "quantity": 1 + item % self.max_quantity}));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let Ok(response) = request.send().await else {
            return Answer::Unreachable;
        };
        let status = response.status();
        let Ok(body) = response.json::<Value>().await else {
            return Answer::Unreachable;
        };
        if status == StatusCode::PAYMENT_REQUIRED && body["code"] == "insufficient_funds" {
            return Answer::Refused;
        }
        let id = match status.as_u16() {
            200 | 201 => body["id"].as_str(),
            502..=504 => body["order_id"].as_str(),
            _ => None,
        };
        match id {
            Some(id) => Answer::Order(id.to_owned()),
            None => Answer::Unexpected(format!("{status} from {instance}: {body}")),
        }
    }

    /// Sends with a key until an instance answers, moving on to the next
    /// instance when one is down, as a careful client would.
    pub(super) async fn post_until_answered(
        &self,
        first: usize,
        item: usize,
        key: &str,
        ledger: &Mutex<Ledger>,
    ) -> Option<String> {
        for attempt in 0..20 {
            let instance = (first + attempt) % self.urls.len();
            ledger.lock().await.requests += 1;
            match self.post(instance, item, Some(key)).await {
                Answer::Order(id) => return Some(id),
                Answer::Refused => {
                    ledger.lock().await.refused += 1;
                    return None;
                }
                Answer::Unreachable => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Answer::Unexpected(what) => {
                    ledger
                        .lock()
                        .await
                        .anomalies
                        .push(format!("key {key}: {what}"));
                    return None;
                }
            }
        }
        ledger
            .lock()
            .await
            .anomalies
            .push(format!("key {key}: no instance answered"));
        None
    }

    pub(super) async fn place(&self, item: usize, run: &str, ledger: &Mutex<Ledger>) {
        let instances = self.urls.len();
        let first = item % instances;
        let key = format!("{run}-{item}");
        let mut ids = Vec::new();
        match plan(item) {
            Sending::Once => ids.extend(self.post_until_answered(first, item, &key, ledger).await),
            Sending::Again => {
                ids.extend(self.post_until_answered(first, item, &key, ledger).await);
                ids.extend(
                    self.post_until_answered(first + 1, item, &key, ledger)
                        .await,
                );
            }
            Sending::Together => {
                let (a, b) = tokio::join!(
                    self.post_until_answered(first, item, &key, ledger),
                    self.post_until_answered(first + 1, item, &key, ledger)
                );
                ids.extend(a);
                ids.extend(b);
            }
            Sending::Keyless => {
                let instance = (item / 10) % instances;
                let instance = if instance == VICTIM { 0 } else { instance };
                ledger.lock().await.requests += 1;
                match self.post(instance, item, None).await {
                    Answer::Order(id) => ids.push(id),
                    Answer::Refused => ledger.lock().await.refused += 1,
                    Answer::Unreachable => ledger.lock().await.anomalies.push(format!(
                        "keyless order {item}: instance {instance} unreachable"
                    )),
                    Answer::Unexpected(what) => ledger
                        .lock()
                        .await
                        .anomalies
                        .push(format!("keyless order {item}: {what}")),
                }
            }
        }
        let mut ledger = ledger.lock().await;
        if ids.windows(2).any(|pair| pair[0] != pair[1]) {
            ledger
                .anomalies
                .push(format!("key {key} named several orders: {ids:?}"));
        }
        ledger.ids.extend(ids);
    }
}
