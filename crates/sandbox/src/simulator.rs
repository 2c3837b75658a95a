//! What every provider simulator shares: fault injection on demand, the
//! list of what it sold, and a way to serve it on a port, in its own
//! process or inside a test.
//!
//! Every simulator answers `GET /__admin/purchases` with one shape,
//! [`PurchaseList`]: `{"purchases": [{"reference", "caller_reference",
//! "sku", "quantity", "created_at"}]}`, oldest first. A purchase is one
//! upstream order that bought something (for ONSIM: one provisioned line),
//! so a test can match the provider's sales one for one against the
//! gateway's orders, even when the simulator runs in another process.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where the simulators keep their control endpoints; never faulted.
pub const ADMIN_PREFIX: &str = "/__admin";

/// One fault to inject into matching requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Only requests whose path starts with this (default: all).
    #[serde(default)]
    pub path: Option<String>,
    /// Only requests with this method (default: all).
    #[serde(default)]
    pub method: Option<String>,
    /// How many matching requests to fault (default 1).
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// The faults a simulator can inject, each modelling a real upstream failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answers normally, but only after this delay.
    Latency { ms: u64 },
    /// Answers this status with the provider's error body, without processing
    /// the request (as a 429/503/500 from a front proxy would).
    Status {
        status: u16,
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Processes the request, then withholds the answer for this long
    /// (default one hour): the upstream acted, the caller never hears.
    Timeout {
        #[serde(default)]
        ms: Option<u64>,
    },
    /// Processes the request, then answers 200 with a body that is not JSON.
    Malformed,
}

/// One upstream order that bought something, as a simulator records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    /// The provider's own id of the order (eSIM Go order reference, Sim
    /// Local order id, eSIM Story external order id, Telnyx order id,
    /// ONSIM line number): what the gateway stores as the upstream reference.
    pub reference: String,
    /// The caller's id of the order where the provider keeps one (Sim
    /// Local's `external_reference`, eSIM Story's `external_order_id`).
    pub caller_reference: Option<String>,
    /// What was bought: bundle, offering, option, `sim_card` or line bundle;
    /// several items of one order are joined by `+`.
    pub sku: String,
    /// Units bought by this order.
    pub quantity: u32,
    /// When the provider took the order (RFC 3339, UTC).
    pub created_at: String,
}

impl Purchase {
    /// A purchase made now.
    pub fn now(
        reference: impl Into<String>,
        caller_reference: Option<String>,
        sku: impl Into<String>,
        quantity: u32,
    ) -> Self {
        Self {
            reference: reference.into(),
            caller_reference,
            sku: sku.into(),
            quantity,
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// The body of `GET /__admin/purchases`, the same for every simulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseList {
    pub purchases: Vec<Purchase>,
}

/// The body of `GET /__admin/faults`: the armed faults, first matched first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultList {
    pub faults: Vec<FaultSpec>,
}

/// The path of the fault list (`GET`), arming (`POST`) and clearing
/// (`DELETE`) on every simulator.
pub fn faults_path() -> String {
    format!("{ADMIN_PREFIX}/faults")
}

/// The path of the purchase list on every simulator.
pub fn purchases_path() -> String {
    format!("{ADMIN_PREFIX}/purchases")
}

/// Builds a provider's error body for an injected status.
pub type ErrorBody = fn(StatusCode, &str) -> Response;

/// The armed faults of one simulator.
#[derive(Default)]
pub struct FaultInjector {
    armed: Mutex<Vec<FaultSpec>>,
}

impl FaultInjector {
    /// Arms a fault.
    pub fn arm(&self, spec: FaultSpec) {
        self.armed.lock().expect("fault list poisoned").push(spec);
    }

    /// The faults still armed, in the order they are matched, each with
    /// its remaining uses: what the console's faults panel shows.
    pub fn armed(&self) -> Vec<FaultSpec> {
        self.armed.lock().expect("fault list poisoned").clone()
    }

    /// Disarms every fault.
    pub fn clear(&self) {
        self.armed.lock().expect("fault list poisoned").clear();
    }

    /// Takes one use of the first fault matching the request.
    fn take(&self, method: &Method, path: &str) -> Option<FaultKind> {
        let mut armed = self.armed.lock().expect("fault list poisoned");
        let index = armed.iter().position(|f| {
            f.path.as_deref().is_none_or(|p| path.starts_with(p))
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
        })?;
        let kind = armed[index].kind.clone();
        armed[index].times = armed[index].times.saturating_sub(1);
        if armed[index].times == 0 {
            armed.remove(index);
        }
        Some(kind)
    }
}

#[derive(Clone)]
struct FaultState {
    injector: Arc<FaultInjector>,
    error_body: ErrorBody,
}

/// Wraps a provider router with fault injection and the admin endpoints
/// `GET /__admin/faults` (list), `POST /__admin/faults` (arm one) and
/// `DELETE /__admin/faults` (clear).
pub fn with_faults(router: Router, injector: Arc<FaultInjector>, error_body: ErrorBody) -> Router {
    let state = FaultState {
        injector: injector.clone(),
        error_body,
    };
    let admin = Router::new()
        .route(
            &faults_path(),
            get(list_faults).post(arm_fault).delete(clear_faults),
        )
        .with_state(injector);
    router
        .layer(middleware::from_fn_with_state(state, inject))
        .merge(admin)
}

async fn list_faults(State(injector): State<Arc<FaultInjector>>) -> Json<FaultList> {
    Json(FaultList {
        faults: injector.armed(),
    })
}

async fn arm_fault(
    State(injector): State<Arc<FaultInjector>>,
    Json(spec): Json<FaultSpec>,
) -> StatusCode {
    injector.arm(spec);
    StatusCode::CREATED
}

async fn clear_faults(State(injector): State<Arc<FaultInjector>>) -> StatusCode {
    injector.clear();
    StatusCode::NO_CONTENT
}

async fn inject(State(state): State<FaultState>, request: Request, next: Next) -> Response {
    let fault = state.injector.take(request.method(), request.uri().path());
    match fault {
        None => next.run(request).await,
        Some(FaultKind::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(request).await
        }
        Some(FaultKind::Status {
            status,
            retry_after_secs,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (state.error_body)(status, "injected fault");
            if let Some(secs) = retry_after_secs {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, secs.into());
            }
            response
        }
        Some(FaultKind::Timeout { ms }) => {
            let response = next.run(request).await;
            tokio::time::sleep(Duration::from_millis(ms.unwrap_or(3_600_000))).await;
            response
        }
        Some(FaultKind::Malformed) => {
            let _processed = next.run(request).await;
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                Body::from("{\"order\": [{\"esims\": [tru"),
            )
                .into_response()
        }
    }
}

/// Whether a request carries `Authorization: Bearer <expected>`, compared
/// in constant time; what the bearer-auth simulators check.
pub fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    !given.is_empty() && simgate_connectors::http::secrets_match(given, expected)
}

/// A simulator served on a local port; stops when dropped or shut down.
pub struct SimulatorHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimulatorHandle {
    /// The base URL of the simulator, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving. In-flight requests are dropped, as a crashed or
    /// restarted provider would drop them.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves a simulator router on `listener` in the background.
pub fn serve(listener: TcpListener, router: Router) -> std::io::Result<SimulatorHandle> {
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "simulator stopped with an error");
        }
    });
    Ok(SimulatorHandle {
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// A QR code of `text` as PNG bytes: what providers hand out for an
/// activation code (eSIM Go's ZIP of install images, eSIM Story's
/// `qrcode_img_url`), so a caller can decode the real thing.
pub fn qr_png(text: &str) -> Result<Vec<u8>, String> {
    let qr = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    let image = qr.render::<image::Luma<u8>>().build();
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(png.into_inner())
}
