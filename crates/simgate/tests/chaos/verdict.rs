//! Judging a run: every order final, nothing bought twice, nothing lost.

use super::*;

/// Reads every order of the tenant, newest first, page by page.
pub(super) async fn all_orders(http: &reqwest::Client, url: &str, key: &str) -> Option<Vec<Value>> {
    let mut orders = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut request = http
            .get(format!("{url}/v1/orders"))
            .bearer_auth(key)
            .query(&[("limit", "100")]);
        if let Some(before) = &before {
            request = request.query(&[("before", before)]);
        }
        let page: Value = request.send().await.ok()?.json().await.ok()?;
        orders.extend(page["data"].as_array()?.iter().cloned());
        match page["next_before"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => return Some(orders),
        }
    }
}

pub(super) fn is_final(order: &Value) -> bool {
    matches!(order["status"].as_str(), Some("completed" | "failed"))
}

/// What a run found; empty `failures` means every promise held.
pub(super) struct Verdict {
    pub(super) summary: String,
    pub(super) failures: Vec<String>,
    /// Order ids and upstream references worth a look in the logs.
    pub(super) suspects: Vec<String>,
}

pub(super) fn judge(
    provider: Provider,
    ledger: &Ledger,
    orders: &[Value],
    purchases: &[Purchase],
    stuck: usize,
) -> Verdict {
    let mut failures: Vec<String> = ledger.anomalies.clone();
    let mut suspects = Vec::new();
    let by_id: BTreeMap<&str, &Value> = orders
        .iter()
        .filter_map(|o| Some((o["id"].as_str()?, o)))
        .collect();
    let lost: Vec<&String> = ledger
        .ids
        .iter()
        .filter(|id| !by_id.contains_key(id.as_str()))
        .collect();
    if !lost.is_empty() {
        failures.push(format!("{} orders lost: {lost:?}", lost.len()));
    }
    let unknown: Vec<&&str> = by_id
        .keys()
        .filter(|id| !ledger.ids.contains(**id))
        .collect();
    if !unknown.is_empty() {
        failures.push(format!(
            "{} orders no client heard of: {unknown:?}",
            unknown.len()
        ));
    }
    let not_final: Vec<String> = orders
        .iter()
        .filter(|o| !is_final(o))
        .map(|o| format!("{} {}", o["id"], o["status"]))
        .collect();
    if stuck > 0 {
        failures.push(format!(
            "{} orders not final in time: {not_final:?}",
            not_final.len()
        ));
    }
    let completed: Vec<&Value> = orders
        .iter()
        .filter(|o| o["status"] == "completed")
        .collect();
    let mut failed: BTreeMap<String, usize> = BTreeMap::new();
    for order in orders.iter().filter(|o| o["status"] == "failed") {
        let code = order["failure"]["code"].as_str().unwrap_or("unknown");
        *failed.entry(code.to_owned()).or_default() += 1;
    }
    // Upstream reference → local orders holding it.
    let mut linked: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for order in orders {
        if let Some(reference) = order["upstream_reference"].as_str() {
            linked.entry(reference).or_default().push(order);
        }
    }
    let mut sold: BTreeMap<&str, Vec<&Purchase>> = BTreeMap::new();
    for purchase in purchases {
        sold.entry(purchase.reference.as_str())
            .or_default()
            .push(purchase);
    }
    for order in &completed {
        match order["upstream_reference"].as_str() {
            None => {
                failures.push(format!(
                    "completed order {} has no upstream reference",
                    order["id"]
                ));
            }
            Some(reference) if !sold.contains_key(reference) => {
                failures.push(format!(
                    "completed order {} names {reference}, which the provider never sold",
                    order["id"]
                ));
            }
            Some(_) => {}
        }
    }
    let mut unlinked = 0;
    for purchase in purchases {
        let holders = linked
            .get(purchase.reference.as_str())
            .cloned()
            .unwrap_or_default();
        let detail = format!(
            "{} ({} x{}, {}, caller {:?})",
            purchase.reference,
            purchase.sku,
            purchase.quantity,
            purchase.created_at,
            purchase.caller_reference
        );
        match holders.as_slice() {
            [] => {
                unlinked += 1;
                failures.push(format!(
                    "purchase {detail} is no order's upstream reference"
                ));
                suspects.push(purchase.reference.clone());
                suspects.extend(purchase.caller_reference.clone());
            }
            [order] if order["status"] != "completed" => {
                failures.push(format!(
                    "purchase {detail} is linked to {} order {}",
                    order["status"], order["id"]
                ));
                suspects.extend(order["id"].as_str().map(str::to_owned));
            }
            [order] => {
                if let (Provider::SimLocal, Some(caller)) = (provider, &purchase.caller_reference)
                    && order["id"].as_str() != Some(caller.as_str())
                {
                    failures.push(format!(
                        "purchase {detail} made for {caller} is linked to order {}",
                        order["id"]
                    ));
                    suspects.push(caller.clone());
                }
            }
            many => {
                failures.push(format!(
                    "purchase {detail} is linked to {} orders",
                    many.len()
                ));
            }
        }
    }
    for (reference, copies) in &sold {
        if copies.len() > 1 {
            failures.push(format!(
                "the provider sold {reference} {} times",
                copies.len()
            ));
        }
    }
    if purchases.len() != completed.len() {
        failures.push(format!(
            "{} purchases for {} completed orders",
            purchases.len(),
            completed.len()
        ));
    }
    let summary = format!(
        "{} orders from {} requests: {} completed, {} failed {failed:?}, {stuck} not final; \
         {} purchases, {unlinked} unlinked; {} lost",
        orders.len(),
        ledger.requests,
        completed.len(),
        failed.values().sum::<usize>(),
        purchases.len(),
        lost.len()
    );
    Verdict {
        summary,
        failures,
        suspects,
    }
}

/// Log lines that mention a suspect, then also those that mention an order
/// id the first lines named: the story of each broken promise.
pub(super) fn suspect_lines(dir: &Path, suspects: &[String]) -> Vec<String> {
    let first = log_lines(dir, suspects);
    let mut needles = suspects.to_vec();
    for line in &first {
        for word in line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
            if word.starts_with("ord_") && !needles.iter().any(|n| n == word) {
                needles.push(word.to_owned());
            }
        }
    }
    log_lines(dir, &needles)
}

/// Log lines of every instance's lives that mention one of `needles`.
pub(super) fn log_lines(dir: &Path, needles: &[String]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        lines.extend(
            text.lines()
                .filter(|line| needles.iter().any(|n| line.contains(n.as_str())))
                .map(|line| format!("{name}: {line}")),
        );
    }
    lines.truncate(200);
    lines
}
