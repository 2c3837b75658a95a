//! What the connector tests share.

use simgate_sandbox::simulator::{Purchase, PurchaseList, SimulatorHandle};

/// The simulator's `GET /__admin/purchases`, read over HTTP as another
/// process would; every purchase's time is RFC 3339.
pub async fn listed(handle: &SimulatorHandle) -> Vec<Purchase> {
    let response = reqwest::Client::new()
        .get(format!("{}/__admin/purchases", handle.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let list: PurchaseList = response.json().await.unwrap();
    for purchase in &list.purchases {
        chrono::DateTime::parse_from_rfc3339(&purchase.created_at).unwrap();
    }
    list.purchases
}
