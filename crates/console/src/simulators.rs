//! The provider simulators `serve --sandbox` runs in-process, as the
//! faults panel reaches them: over loopback HTTP at their
//! `/__admin/faults`, the contract every simulator shares (and the tests
//! use). Their base URLs come from the binary that started them, never
//! from a form, so the panel cannot be turned into a request forwarder.

use std::sync::Arc;
use std::time::Duration;

use simgate_domain::ProviderId;
use simgate_sandbox::simulator::{FaultList, FaultSpec, faults_path};

/// How long the panel waits for a simulator: they run in the same
/// process, so anything slower means it is gone.
const SIMULATOR_TIMEOUT: Duration = Duration::from_secs(5);

/// One running simulator: the provider it stands in for, and where it
/// listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulator {
    pub provider: ProviderId,
    /// Its root, e.g. `http://127.0.0.1:8081` (the admin routes hang off
    /// the root even when the provider's API is under a prefix).
    pub base_url: String,
}

/// Why a simulator could not be reached or refused a fault.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The HTTP client could not be built (no TLS backend, …).
    #[error("the client for the simulators could not be built: {0}")]
    Client(#[source] reqwest::Error),
    /// The simulator did not answer, or not with what it should.
    #[error("the {provider} simulator did not answer ({reason})")]
    Unreachable {
        provider: ProviderId,
        reason: String,
    },
    /// The simulator answered with an error status.
    #[error("the {provider} simulator refused the request with status {status}")]
    Refused { provider: ProviderId, status: u16 },
}

/// The simulators of a sandbox, in the order they were started: their
/// presence is what turns the faults panel on.
#[derive(Debug, Clone)]
pub struct Simulators {
    list: Arc<Vec<Simulator>>,
    client: reqwest::Client,
}

impl Simulators {
    /// The panel over `list`, with a client bounded by a short timeout
    /// that follows no redirect.
    pub fn new(list: Vec<Simulator>) -> Result<Self, SimulatorError> {
        let client = reqwest::Client::builder()
            .timeout(SIMULATOR_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(SimulatorError::Client)?;
        Ok(Self {
            list: Arc::new(list),
            client,
        })
    }

    /// Every simulator, in start order.
    pub(crate) fn all(&self) -> &[Simulator] {
        &self.list
    }

    /// The simulator standing in for `provider`, if one runs.
    pub(crate) fn find(&self, provider: ProviderId) -> Option<&Simulator> {
        self.list.iter().find(|s| s.provider == provider)
    }

    fn url(simulator: &Simulator) -> String {
        format!(
            "{}{}",
            simulator.base_url.trim_end_matches('/'),
            faults_path()
        )
    }

    /// The faults `simulator` has armed, first matched first.
    pub(crate) async fn armed(
        &self,
        simulator: &Simulator,
    ) -> Result<Vec<FaultSpec>, SimulatorError> {
        let response = self
            .client
            .get(Self::url(simulator))
            .send()
            .await
            .map_err(|e| unreachable(simulator, &e))?;
        let list: FaultList = checked(simulator, response)?
            .json()
            .await
            .map_err(|e| unreachable(simulator, &e))?;
        Ok(list.faults)
    }

    /// Arms `fault` on `simulator`.
    pub(crate) async fn arm(
        &self,
        simulator: &Simulator,
        fault: &FaultSpec,
    ) -> Result<(), SimulatorError> {
        let response = self
            .client
            .post(Self::url(simulator))
            .json(fault)
            .send()
            .await
            .map_err(|e| unreachable(simulator, &e))?;
        checked(simulator, response).map(|_| ())
    }

    /// Disarms every fault of `simulator`.
    pub(crate) async fn clear(&self, simulator: &Simulator) -> Result<(), SimulatorError> {
        let response = self
            .client
            .delete(Self::url(simulator))
            .send()
            .await
            .map_err(|e| unreachable(simulator, &e))?;
        checked(simulator, response).map(|_| ())
    }
}

/// The error for a call that got no usable answer; the reason is
/// reqwest's, which names no secret (the admin routes take none).
fn unreachable(simulator: &Simulator, error: &reqwest::Error) -> SimulatorError {
    let reason = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection refused".to_owned()
    } else if error.is_decode() {
        "an answer that is not a fault list".to_owned()
    } else {
        "the request failed".to_owned()
    };
    SimulatorError::Unreachable {
        provider: simulator.provider,
        reason,
    }
}

/// The response when its status is a success.
fn checked(
    simulator: &Simulator,
    response: reqwest::Response,
) -> Result<reqwest::Response, SimulatorError> {
    let status = response.status();
    if status.is_success() {
        Ok(response)
    } else {
        Err(SimulatorError::Refused {
            provider: simulator.provider,
            status: status.as_u16(),
        })
    }
}
