//! HTTP client for eSIM Go v2.4: every operation of the reference, with
//! `X-API-Key` auth, a timeout on every call and bounded `Retry-After` retries.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use simgate_domain::{
    BundleUsage, Capability, Currency, EsimLocation, Iccid, OrderKind, OrderStatus, Product,
    ProviderId, RevokeOutcome,
};

use super::transform;
use super::types::*;
use crate::http::auth::Auth;
use crate::http::core::{ProviderHttp, body_excerpt};
use crate::http::{self, RawResponse, RetryPolicy};
use crate::{
    CatalogueProgress, Connector, ConnectorError, InboundEvent, PlaceOrder, PlacedOrder,
    ReconcileStrategy, WebhookError,
};

/// The production base URL.
pub const PRODUCTION_URL: &str = "https://api.esim-go.com/v2.4";

/// Catalogue page size simgate asks for (the sandbox serves up to 1,000).
const CATALOGUE_PAGE_SIZE: u32 = 1000;
/// Order list page size used when recovering lost outcomes.
const ORDER_PAGE_SIZE: u32 = 100;
/// Upper bound on pages read in one walk, so a misbehaving upstream cannot loop us.
const MAX_PAGES: u32 = 1000;

/// How to reach eSIM Go.
#[derive(Debug, Clone)]
pub struct EsimGoConfig {
    /// Base URL including the version, e.g. [`PRODUCTION_URL`].
    pub base_url: String,
    /// The organisation's API key; sent as `X-API-Key`, never logged.
    pub api_key: SecretString,
    /// Timeout of every call.
    pub timeout: Duration,
    /// Retries of 429/503 answers.
    pub retry: RetryPolicy,
    /// Accept V2 usage callbacks, which carry no signature. Off by default:
    /// anyone could forge them.
    pub accept_unsigned_callbacks: bool,
}

/// Header carrying the V3 callback signature.
pub const SIGNATURE_HEADER: &str = "x-signature-sha256";

fn callback_mac(api_key: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

/// The V3 callback signature of a body: HMAC-SHA256 keyed by the API key.
pub fn callback_signature(api_key: &str, body: &[u8]) -> Vec<u8> {
    callback_mac(api_key, body).finalize().into_bytes().to_vec()
}

/// Checks a V3 callback signature, given as hex or as base64 (sources
/// disagree, so both are taken), in constant time.
pub fn callback_signature_valid(api_key: &str, body: &[u8], given: &str) -> bool {
    let mac = callback_mac(api_key, body);
    let given = given.trim();
    let decoded = hex::decode(given)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(given).ok());
    decoded.is_some_and(|bytes| mac.verify_slice(&bytes).is_ok())
}

/// The eSIM Go connector.
pub struct EsimGoClient {
    config: EsimGoConfig,
    http: ProviderHttp,
}

impl std::fmt::Debug for EsimGoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsimGoClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

/// What `DELETE .../bundles/{name}` should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeMode {
    /// Only report the options (`type=validate`).
    Validate,
    /// Execute the revoke (`type=transaction`).
    Transaction,
}

impl RevokeMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Validate => "validate",
            Self::Transaction => "transaction",
        }
    }
}

impl EsimGoClient {
    /// A client for the given configuration; a base URL that cannot be
    /// used is [`ConnectorError::Config`].
    pub fn new(config: EsimGoConfig) -> Result<Self, ConnectorError> {
        let auth = Auth::ApiKey {
            header: "X-API-Key",
            key: config.api_key.clone(),
        };
        let http = ProviderHttp::new(
            "eSIM Go",
            &config.base_url,
            config.timeout,
            config.retry,
            auth,
            refusal,
        )?;
        Ok(Self { config, http })
    }

    async fn send<Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        query: &Q,
        body: Option<&B>,
        accept: &str,
    ) -> Result<RawResponse, ConnectorError> {
        self.http
            .send(method, segments, |request| {
                let request = request.header(ACCEPT, accept).query(query);
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await
    }

    async fn json<T: DeserializeOwned, Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        query: &Q,
        body: Option<&B>,
    ) -> Result<T, ConnectorError> {
        let raw = self
            .send(method, segments, query, body, "application/json")
            .await?;
        self.http.decode(&raw, segments)
    }

    async fn get<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        segments: &[&str],
        query: &Q,
    ) -> Result<T, ConnectorError> {
        self.json(Method::GET, segments, query, None::<&()>).await
    }

    /// `GET /catalogue`: one page of bundles.
    pub async fn catalogue_page(
        &self,
        query: &CatalogueQuery,
    ) -> Result<CataloguePage, ConnectorError> {
        self.get(&["catalogue"], query).await
    }

    /// `GET /catalogue/bundle/{name}` (names are case-sensitive).
    pub async fn bundle(&self, name: &str) -> Result<Bundle, ConnectorError> {
        self.get(&["catalogue", "bundle", name], &()).await
    }

    /// `GET /networks` by ISO codes, or every country with `return_all`.
    pub async fn networks(
        &self,
        isos: &[&str],
        return_all: bool,
    ) -> Result<NetworksResponse, ConnectorError> {
        let isos = isos.join(",");
        let mut query = vec![("returnAll", return_all.to_string())];
        if !isos.is_empty() {
            query.push(("isos", isos));
        }
        self.get(&["networks"], &query).await
    }

    /// `POST /orders`: validate (dry run) or buy.
    pub async fn create_order(
        &self,
        order: &OrderRequest,
    ) -> Result<OrderResponse, ConnectorError> {
        self.json(Method::POST, &["orders"], &(), Some(order)).await
    }

    /// `GET /orders`: one page of orders, optionally created in a window.
    pub async fn orders(
        &self,
        page: u32,
        limit: u32,
        created_from: Option<DateTime<Utc>>,
    ) -> Result<Vec<OrderResponse>, ConnectorError> {
        let mut query = vec![
            ("includeIccids", "true".to_owned()),
            ("page", page.to_string()),
            ("limit", limit.to_string()),
        ];
        if let Some(from) = created_from {
            query.push((
                "createdAt",
                format!("gte:{}", from.to_rfc3339_opts(SecondsFormat::Millis, true)),
            ));
        }
        let list: OrderList = self.get(&["orders"], &query).await?;
        Ok(list.into_orders())
    }

    /// `GET /orders/{reference}`.
    pub async fn order(&self, reference: &str) -> Result<OrderResponse, ConnectorError> {
        self.get(&["orders", reference], &()).await
    }

    /// `GET /inventory`: bundles bought but not yet applied.
    pub async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        self.get(&["inventory"], &()).await
    }

    /// `POST /inventory/refund`: returns unused inventory to the balance.
    pub async fn refund_inventory(
        &self,
        refund: &InventoryRefund,
    ) -> Result<MessageResponse, ConnectorError> {
        self.json(Method::POST, &["inventory", "refund"], &(), Some(refund))
            .await
    }

    /// `GET /esims`: one page of the organisation's eSIMs.
    pub async fn esims(&self, page: u32, per_page: u32) -> Result<EsimList, ConnectorError> {
        self.get(&["esims"], &[("page", page), ("perPage", per_page)])
            .await
    }

    /// `GET /esims/{iccid}`.
    pub async fn esim(&self, iccid: &Iccid) -> Result<EsimDetails, ConnectorError> {
        self.get(
            &["esims", iccid.as_str()],
            &[("additionalFields", "appleInstallUrl")],
        )
        .await
    }

    /// `PUT /esims`: sets the customer reference of an eSIM.
    pub async fn update_esim(
        &self,
        update: &UpdateEsim,
    ) -> Result<MessageResponse, ConnectorError> {
        self.json(Method::PUT, &["esims"], &(), Some(update)).await
    }

    /// `POST /esims/apply`: applies inventory bundles to an eSIM (or new ones).
    pub async fn apply_bundle(&self, apply: &ApplyBundle) -> Result<ApplyResponse, ConnectorError> {
        self.json(Method::POST, &["esims", "apply"], &(), Some(apply))
            .await
    }

    /// `GET /esims/{iccid}/bundles`: bundles and remaining data (bytes).
    pub async fn esim_bundles(
        &self,
        iccid: &Iccid,
        include_used: bool,
    ) -> Result<EsimBundles, ConnectorError> {
        let query = [
            ("includeUsed", include_used.to_string()),
            ("limit", "200".into()),
        ];
        self.get(&["esims", iccid.as_str(), "bundles"], &query)
            .await
    }

    /// `GET /esims/{iccid}/bundles/{name}`.
    pub async fn bundle_status(
        &self,
        iccid: &Iccid,
        name: &str,
    ) -> Result<BundleStatus, ConnectorError> {
        self.get(&["esims", iccid.as_str(), "bundles", name], &())
            .await
    }

    /// `DELETE /esims/{iccid}/bundles/{name}`: revokes the latest assignment.
    pub async fn revoke_bundle(
        &self,
        iccid: &Iccid,
        name: &str,
        mode: RevokeMode,
        refund_to_balance: bool,
    ) -> Result<StatusResponse, ConnectorError> {
        let query = [
            ("type", mode.as_str().to_owned()),
            ("refundToBalance", refund_to_balance.to_string()),
        ];
        self.json(
            Method::DELETE,
            &["esims", iccid.as_str(), "bundles", name],
            &query,
            None::<&()>,
        )
        .await
    }

    /// `DELETE /esims/{iccid}/bundles/{name}/assignments/{id}`.
    pub async fn revoke_assignment(
        &self,
        iccid: &Iccid,
        name: &str,
        assignment_id: &str,
        mode: RevokeMode,
    ) -> Result<StatusResponse, ConnectorError> {
        let segments = [
            "esims",
            iccid.as_str(),
            "bundles",
            name,
            "assignments",
            assignment_id,
        ];
        self.json(
            Method::DELETE,
            &segments,
            &[("type", mode.as_str())],
            None::<&()>,
        )
        .await
    }

    /// `GET /esims/{iccid}/history`.
    pub async fn history(&self, iccid: &Iccid) -> Result<Vec<HistoryEntry>, ConnectorError> {
        self.get(&["esims", iccid.as_str(), "history"], &()).await
    }

    /// `GET /esims/{iccid}/location`.
    pub async fn location(&self, iccid: &Iccid) -> Result<Location, ConnectorError> {
        self.get(&["esims", iccid.as_str(), "location"], &()).await
    }

    /// `GET /esims/{iccid}/refresh`: a cancel-location; disconnects the user.
    pub async fn refresh(&self, iccid: &Iccid) -> Result<MessageResponse, ConnectorError> {
        self.get(&["esims", iccid.as_str(), "refresh"], &()).await
    }

    /// `GET /esims/{iccid}/compatible/{bundle}`.
    pub async fn compatible(
        &self,
        iccid: &Iccid,
        bundle: &str,
    ) -> Result<CompatibilityAnswer, ConnectorError> {
        self.get(&["esims", iccid.as_str(), "compatible", bundle], &())
            .await
    }

    /// `POST /esims/{iccid}/sms`; the message must be 1–160 characters.
    pub async fn send_sms(
        &self,
        iccid: &Iccid,
        message: &str,
    ) -> Result<MessageResponse, ConnectorError> {
        let length = message.chars().count();
        if !(1..=160).contains(&length) {
            return Err(ConnectorError::Rejected {
                status: 400,
                message: format!("SMS must be 1 to 160 characters, got {length}"),
            });
        }
        let body = SmsRequest {
            message: message.to_owned(),
            from: "eSIM".to_owned(),
        };
        self.json(
            Method::POST,
            &["esims", iccid.as_str(), "sms"],
            &(),
            Some(&body),
        )
        .await
    }

    /// `GET /esims/assignments` as JSON: install details of an order.
    pub async fn install_details(
        &self,
        reference: &str,
    ) -> Result<Vec<InstallAssignment>, ConnectorError> {
        self.get(&["esims", "assignments"], &[("reference", reference)])
            .await
    }

    /// `GET /esims/assignments` as CSV (the provider's default format).
    pub async fn install_details_csv(&self, reference: &str) -> Result<String, ConnectorError> {
        let raw = self
            .send(
                Method::GET,
                &["esims", "assignments"],
                &[("reference", reference)],
                None::<&()>,
                "text/csv",
            )
            .await?;
        String::from_utf8(raw.body).map_err(|e| ConnectorError::InvalidResponse(e.to_string()))
    }

    /// `GET /organisation`, including the balance and its currency.
    pub async fn organisation(&self) -> Result<OrganisationResponse, ConnectorError> {
        self.get(&["organisation"], &()).await
    }

    /// `POST /organisation/balance?amount=`: tops up the prepaid balance.
    pub async fn top_up_balance(&self, amount: u64) -> Result<BalanceTopUp, ConnectorError> {
        self.json(
            Method::POST,
            &["organisation", "balance"],
            &[("amount", amount)],
            None::<&()>,
        )
        .await
    }

    /// `GET /organisation/groups`: bundle groups available to the organisation.
    pub async fn groups(&self) -> Result<BundleGroups, ConnectorError> {
        self.get(&["organisation", "groups"], &()).await
    }

    /// An order answer with its eSIMs. Completed orders of more than five
    /// eSIMs may come without them: they are read from the assignments.
    async fn with_install_details(
        &self,
        response: &OrderResponse,
    ) -> Result<PlacedOrder, ConnectorError> {
        let mut placed = transform::placed_order(response)?;
        if placed.esims.is_empty() && placed.status == OrderStatus::Completed {
            let assignments = self.install_details(&response.order_reference).await?;
            placed.esims = assignments
                .iter()
                .map(|a| {
                    transform::install_details(&OrderEsim {
                        iccid: a.iccid.clone(),
                        matching_id: a.matching_id.clone(),
                        smdp_address: a.smdp_address.clone(),
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(placed)
    }

    /// The currency catalogue prices are in: the organisation's.
    async fn currency(&self) -> Result<Currency, ConnectorError> {
        let organisations = self.organisation().await?;
        let code = organisations
            .organisations
            .first()
            .map(|o| o.currency.clone())
            .ok_or_else(|| ConnectorError::InvalidResponse("no organisation".into()))?;
        Currency::parse(&code).map_err(|e| ConnectorError::InvalidResponse(e.to_string()))
    }
}

/// Reads eSIM Go's `{"message"}` error body: 401 is our key, the rest is
/// classified by status.
fn refusal(raw: &RawResponse) -> ConnectorError {
    let message = serde_json::from_slice::<ErrorBody>(&raw.body)
        .map_or_else(|_| body_excerpt(&raw.body), |e| e.message);
    tracing::warn!(provider = "esim-go", status = %raw.status, %message, "eSIM Go refused a call");
    if raw.status.as_u16() == 401 {
        return ConnectorError::Unauthorized { status: 401 };
    }
    http::error_for_status(raw, message)
}

#[async_trait]
impl Connector for EsimGoClient {
    fn provider(&self) -> ProviderId {
        ProviderId::EsimGo
    }

    fn reconcile_strategy(&self) -> ReconcileStrategy {
        ReconcileStrategy::ListAndMatch
    }

    /// This client: inventory, history, organisation and the other eSIM Go
    /// operations are its inherent methods.
    fn extras(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }

    fn capabilities(&self) -> &'static [Capability] {
        &[
            Capability::Catalogue,
            Capability::EsimOrders,
            Capability::TopUps,
            Capability::Usage,
            Capability::Revoke,
            Capability::OrderLookup,
            Capability::Sms,
            Capability::Location,
            Capability::Webhooks,
        ]
    }

    async fn fetch_catalogue(
        &self,
        progress: &(dyn Fn(CatalogueProgress) + Send + Sync),
    ) -> Result<Vec<Product>, ConnectorError> {
        let currency = self.currency().await?;
        let mut products = Vec::new();
        let mut fetched = 0;
        for page in 1..=MAX_PAGES {
            let query = CatalogueQuery {
                page: Some(page),
                per_page: Some(CATALOGUE_PAGE_SIZE),
                ..CatalogueQuery::default()
            };
            let batch = self.catalogue_page(&query).await?;
            fetched += batch.bundles.len();
            for bundle in &batch.bundles {
                match transform::product_from_bundle(bundle, currency) {
                    Ok(product) => products.push(product),
                    Err(reason) => {
                        tracing::warn!(provider = "esim-go", %reason, "skipped a bundle");
                    }
                }
            }
            progress(CatalogueProgress {
                fetched,
                total: Some(batch.rows as usize),
            });
            if batch.bundles.is_empty() || page >= batch.page_count {
                break;
            }
        }
        Ok(products)
    }

    async fn place_order(&self, order: &PlaceOrder) -> Result<PlacedOrder, ConnectorError> {
        let iccids = match &order.kind {
            OrderKind::NewEsim => Vec::new(),
            OrderKind::TopUp { iccid } => vec![iccid.as_str().to_owned()],
        };
        let request = OrderRequest {
            kind: "transaction".to_owned(),
            assign: true,
            order: vec![OrderItemRequest {
                kind: "bundle".to_owned(),
                item: order.sku.clone(),
                quantity: order.quantity,
                iccids,
                allow_reassign: false,
            }],
        };
        let response = self.create_order(&request).await?;
        self.with_install_details(&response).await
    }

    async fn fetch_order(&self, reference: &str) -> Result<PlacedOrder, ConnectorError> {
        let response = self.order(reference).await?;
        self.with_install_details(&response).await
    }

    async fn orders_since(&self, since: DateTime<Utc>) -> Result<Vec<PlacedOrder>, ConnectorError> {
        let mut placed = Vec::new();
        for page in 1..=MAX_PAGES {
            let orders = self.orders(page, ORDER_PAGE_SIZE, Some(since)).await?;
            let count = orders.len();
            for order in &orders {
                placed.push(transform::placed_order(order)?);
            }
            if count < ORDER_PAGE_SIZE as usize {
                break;
            }
        }
        Ok(placed)
    }

    async fn usage(&self, iccid: &Iccid) -> Result<Vec<BundleUsage>, ConnectorError> {
        let bundles = self.esim_bundles(iccid, true).await?;
        Ok(transform::usage(&bundles))
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<InboundEvent, WebhookError> {
        match headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) {
            Some(given) => {
                if !callback_signature_valid(self.config.api_key.expose_secret(), body, given) {
                    return Err(WebhookError::Unverified(
                        "X-Signature-SHA256 does not match".to_owned(),
                    ));
                }
            }
            None if self.config.accept_unsigned_callbacks => {}
            None => {
                return Err(WebhookError::Unverified(
                    "unsigned (V2) callbacks are not accepted".to_owned(),
                ));
            }
        }
        self.read_webhook(body)
    }

    fn read_webhook(&self, body: &[u8]) -> Result<InboundEvent, WebhookError> {
        let callback: UsageCallback =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        transform::usage_callback(&callback, body).map_err(WebhookError::Malformed)
    }

    async fn revoke(
        &self,
        iccid: &Iccid,
        sku: &str,
        refund: bool,
    ) -> Result<RevokeOutcome, ConnectorError> {
        // Validate first so that a refused refund revokes nothing.
        self.revoke_bundle(iccid, sku, RevokeMode::Validate, refund)
            .await?;
        self.revoke_bundle(iccid, sku, RevokeMode::Transaction, refund)
            .await?;
        Ok(RevokeOutcome {
            bundle: sku.to_owned(),
            refunded: refund,
        })
    }

    async fn location(&self, iccid: &Iccid) -> Result<EsimLocation, ConnectorError> {
        let location = EsimGoClient::location(self, iccid).await?;
        Ok(transform::location(&location))
    }

    async fn send_sms(&self, iccid: &Iccid, message: &str) -> Result<(), ConnectorError> {
        EsimGoClient::send_sms(self, iccid, message)
            .await
            .map(|_| ())
    }
}
