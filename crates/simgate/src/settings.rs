//! Configuration: a TOML file overlaid by `SIMGATE_*` environment variables
//! (nested keys joined by `__`, e.g. `SIMGATE_PROVIDERS__ESIM_GO__API_KEY`).

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Everything a running simgate needs to know.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Where the API listens.
    pub listen: SocketAddr,
    /// `sqlite://simgate.db` (default) or `postgres://…`.
    pub database_url: String,
    pub providers: Providers,
    pub jobs: Jobs,
    pub sandbox: SandboxSettings,
}

/// Upstream providers; a provider without settings is not configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Providers {
    pub esim_go: Option<EsimGoSettings>,
}

/// How to reach eSIM Go.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EsimGoSettings {
    #[serde(default = "esim_go_url")]
    pub base_url: String,
    /// Organisation API key (secret: never logged).
    #[serde(serialize_with = "redact")]
    pub api_key: SecretString,
    /// Timeout of each upstream call.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn esim_go_url() -> String {
    simgate_connectors::esim_go::client::PRODUCTION_URL.to_owned()
}

fn default_timeout_secs() -> u64 {
    30
}

fn redact<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[REDACTED]")
}

/// Periods of the background jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Jobs {
    /// Catalogue sync period; it also runs at start.
    pub catalogue_sync_secs: u64,
    /// How often lost order outcomes are looked for.
    pub reconcile_every_secs: u64,
    /// Age of an unanswered submission before it counts as lost; must
    /// exceed every provider timeout.
    pub reconcile_after_secs: u64,
}

/// The built-in sandboxes used by `serve --sandbox`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxSettings {
    /// Where the eSIM Go sandbox listens (port 0: any free port).
    pub esim_go_listen: SocketAddr,
    /// API key of the demo tenant created in sandbox mode.
    pub tenant_api_key: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: ([127, 0, 0, 1], 8080).into(),
            database_url: "sqlite://simgate.db".to_owned(),
            providers: Providers::default(),
            jobs: Jobs {
                catalogue_sync_secs: 6 * 3600,
                reconcile_every_secs: 10,
                reconcile_after_secs: 45,
            },
            sandbox: SandboxSettings {
                esim_go_listen: ([127, 0, 0, 1], 0).into(),
                tenant_api_key: "sk_sandbox_simgate".to_owned(),
            },
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct SettingsError(#[from] Box<figment::Error>);

impl Settings {
    /// Defaults, then the TOML file (if it exists), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file(file));
        }
        figment
            .merge(Env::prefixed("SIMGATE_").split("__"))
            .extract()
            .map_err(|e| SettingsError(Box::new(e)))
    }
}
