//! Configuration: a TOML file overlaid by `SIMGATE_*` environment variables
//! (nested keys joined by `__`, e.g. `SIMGATE_PROVIDERS__ESIM_GO__API_KEY`).
//!
//! Strict: a key simgate does not know is an error naming it, so a typo
//! (`listn`, `[providers.esimgo]`) is never silently ignored. Environment
//! variables are only read for the top-level keys below, since other tools
//! (and simgate's own `SIMGATE_CONFIG`) share the prefix.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use simgate_connectors::esim_story::types::OptionConfig;
use simgate_domain::orchestration::HealthConfig;
use simgate_service::limits::{LimitsConfig, Rate};
use simgate_service::secret_keys::SecretKeyError;

/// Everything a running simgate needs to know. Serialising it (as
/// `simgate config check` does) redacts every secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the API listens.
    pub listen: SocketAddr,
    /// `sqlite://simgate.db` (default) or `postgres://…` (its password is
    /// redacted when shown).
    #[serde(serialize_with = "redact_url_password")]
    pub database_url: String,
    pub providers: Providers,
    pub jobs: Jobs,
    pub sandbox: SandboxSettings,
    /// The operator's API key (at least 24 characters): the only key that
    /// may add numbers or groups to provider accounts, list their raw
    /// inventory and read `/metrics` on `listen`. Unset: those stay closed.
    /// Kept in memory only as a digest; never logged.
    #[serde(default, serialize_with = "redact_optional")]
    pub admin_api_key: Option<SecretString>,
    /// A second address serving only `/metrics`, without a key, for a
    /// scraper on a private network. Unset: no such listener.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// On SIGTERM or Ctrl-C, how long in-flight requests and the
    /// background jobs may take to finish before they are cut.
    pub shutdown_grace_secs: u64,
    /// Limits on clients: timeouts and sizes (`[server]`).
    pub server: crate::server::ServerSettings,
    /// How log lines are written to stderr: `text` for people, `json` (one
    /// object a line) for log collectors. `--log-format` overrides it.
    pub log_format: LogFormat,
    /// Outbound deliveries to tenants' webhook endpoints.
    pub webhooks: WebhookSettings,
    /// Provider health: the rolling window and circuit breaker (`[health]`).
    pub health: HealthSettings,
    /// The operator console at `/console/` (`[console]`).
    pub console: ConsoleSettings,
    /// API key authentication (`[auth]`).
    pub auth: AuthSettings,
    /// Tenant accounts (`[money]`).
    pub money: MoneySettings,
    /// Provider balances and their low-balance alerts (`[balances]`).
    pub balances: BalanceSettings,
    /// Rate limits per tenant and per client address (`[limits]`).
    pub limits: LimitSettings,
    /// How long old rows are kept before the purge job removes them
    /// (`[retention]`).
    pub retention: RetentionSettings,
}

/// How long each kind of row is kept, in days; 0 keeps it for ever
/// (`[retention]`). The purge job runs every `purge_every_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Events, deleted with their finished deliveries (never while one is
    /// pending).
    pub events_days: u64,
    /// Finished (not pending) webhook deliveries, from their last attempt.
    pub deliveries_days: u64,
    /// Processed inbound provider webhooks (applied ones are redacted at
    /// the first purge pass whatever this says).
    pub inbound_webhooks_days: u64,
    /// Console sessions, counted from their expiry.
    pub sessions_expired_days: u64,
    /// Idempotency keys of finished orders and SIM orders, cleared (the
    /// orders stay): the same key then makes a new order.
    pub idempotency_days: u64,
    /// How often the purge job runs (it also runs at start).
    pub purge_every_secs: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            events_days: 90,
            deliveries_days: 90,
            inbound_webhooks_days: 30,
            sessions_expired_days: 1,
            idempotency_days: 30,
            purge_every_secs: 3600,
        }
    }
}

impl RetentionSettings {
    /// What the purge job takes, with the service's batch bounds.
    pub fn retention(&self) -> simgate_service::retention::Retention {
        let days =
            |n: u64| (n > 0).then(|| std::time::Duration::from_secs(n.saturating_mul(86_400)));
        simgate_service::retention::Retention {
            events: days(self.events_days),
            deliveries: days(self.deliveries_days),
            inbound_webhooks: days(self.inbound_webhooks_days),
            expired_sessions: days(self.sessions_expired_days),
            idempotency: days(self.idempotency_days),
            ..simgate_service::retention::Retention::default()
        }
    }
}

/// How tenants' accounts are settled (`[money]`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MoneySettings {
    /// Whether a refunded sale credits the tenant: `full` (always), `none`
    /// (never: settled by hand) or `provider_refunded_only` (the default:
    /// only when the provider paid the operator back).
    pub refund_policy: simgate_domain::RefundPolicy,
}

/// Provider balances (`[balances]`): how low is too low, per provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BalanceSettings {
    /// Per provider slug (`esim-go = "100"`), the balance below which
    /// `provider.balance.low` is sent to the operator's webhook endpoints,
    /// in the provider's balance currency. No entry: no alert.
    #[serde(with = "threshold_map")]
    pub low_threshold: std::collections::BTreeMap<simgate_domain::ProviderId, Decimal>,
}

/// Thresholds as decimal strings (`"100"`, `"99.50"`): exact, never a float.
mod threshold_map {
    use std::collections::BTreeMap;

    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use simgate_domain::ProviderId;

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<ProviderId, Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text: BTreeMap<&ProviderId, String> =
            map.iter().map(|(p, d)| (p, d.to_string())).collect();
        text.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<ProviderId, Decimal>, D::Error> {
        let text = BTreeMap::<ProviderId, String>::deserialize(deserializer)?;
        text.into_iter()
            .map(|(provider, amount)| {
                amount
                    .trim()
                    .parse::<Decimal>()
                    .ok()
                    .filter(|d| !d.is_sign_negative())
                    .map(|d| (provider, d))
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "low_threshold.{provider}: {amount:?} is not a non-negative decimal"
                        ))
                    })
            })
            .collect()
    }
}

/// Token buckets, per instance (`[limits]`): each budget is `quota` calls
/// per `window_secs`, as a burst of `quota` refilled evenly over the window.
/// The operator overrides a tenant's budgets with
/// `PUT /admin/v1/tenants/{id}/limits`; the caps (`max_…`) are counted in
/// the database, except `max_waiting_requests`, which is per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Every call with a tenant's key, per tenant.
    pub requests: Rate,
    /// Orders and top-ups placed, per tenant.
    pub order_creations: Rate,
    /// SMS sent to eSIMs, per tenant.
    pub sms_sends: Rate,
    /// `GET /v1/sim-orders/{id}` (a provider call each), per tenant.
    pub sim_order_reads: Rate,
    /// Provider webhooks, per client address.
    pub webhooks_per_ip: Rate,
    /// Least time between two polls of a provider prompted by webhooks
    /// that failed verification.
    pub repoll_interval_secs: u64,
    /// Console sign-in attempts, per client address.
    pub console_sign_ins_per_ip: Rate,
    /// `POST /v1/orders?wait=` requests waiting at once, per tenant and
    /// instance (each polls the database ten times a second).
    pub max_waiting_requests: u32,
    /// Enabled webhook endpoints, per tenant.
    pub max_webhook_endpoints: u32,
    /// Replays of one event.
    pub max_replays_per_event: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        let config = LimitsConfig::default();
        Self {
            requests: config.requests,
            order_creations: config.order_creations,
            sms_sends: config.sms_sends,
            sim_order_reads: config.sim_order_reads,
            webhooks_per_ip: config.webhooks_per_ip,
            repoll_interval_secs: config.repoll_interval.as_secs(),
            console_sign_ins_per_ip: config.console_sign_ins_per_ip,
            max_waiting_requests: config.max_waiting_requests,
            max_webhook_endpoints: config.max_webhook_endpoints,
            max_replays_per_event: config.max_replays_per_event,
        }
    }
}

impl LimitSettings {
    /// What the service layer takes.
    pub fn config(&self) -> LimitsConfig {
        LimitsConfig {
            requests: self.requests,
            order_creations: self.order_creations,
            sms_sends: self.sms_sends,
            sim_order_reads: self.sim_order_reads,
            webhooks_per_ip: self.webhooks_per_ip,
            repoll_interval: std::time::Duration::from_secs(self.repoll_interval_secs.max(1)),
            console_sign_ins_per_ip: self.console_sign_ins_per_ip,
            max_waiting_requests: self.max_waiting_requests,
            max_webhook_endpoints: self.max_webhook_endpoints,
            max_replays_per_event: self.max_replays_per_event,
        }
    }
}

/// The circuit breaker's tuning as operators write it (`[health]`), checked
/// at start by [`simgate_domain::orchestration::HealthConfig::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    /// Recent upstream calls kept per provider for its statistics.
    pub window: usize,
    /// Certain failures in a row (503, 429, connection refused) that open
    /// a provider's circuit.
    pub consecutive_failures: u32,
    /// Failed share of the recent calls, in percent, above which the
    /// circuit opens (timeouts and 5xx count too).
    pub error_rate_percent: Decimal,
    /// Calls since the circuit last closed before the error rate counts.
    pub min_calls: usize,
    /// How long an open circuit keeps orders away from the provider
    /// before a probe is let through.
    pub cool_down_seconds: u64,
    /// Probe calls a half-open circuit lets through at once.
    pub half_open_probes: u32,
}

impl Default for HealthSettings {
    /// The domain's defaults, in the settings' units.
    fn default() -> Self {
        let config = HealthConfig::default();
        Self {
            window: config.window,
            consecutive_failures: config.consecutive_failures,
            error_rate_percent: config.error_rate_percent,
            min_calls: config.min_calls,
            cool_down_seconds: config.cool_down.num_seconds().unsigned_abs(),
            half_open_probes: config.half_open_probes,
        }
    }
}

/// The operator console's sessions and cookies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSettings {
    /// How long a console sign-in lasts, in hours.
    pub session_hours: u64,
    /// Mark the console's cookies `Secure` on every answer: set it when
    /// simgate is reached over TLS through a proxy that does not send
    /// `X-Forwarded-Proto: https` (with that header they are marked anyway).
    pub secure_cookies: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            session_hours: 12,
            secure_cookies: false,
        }
    }
}

impl HealthSettings {
    /// The breaker's tuning; a cool-down too long to represent is kept at
    /// the longest one (so that the start-up check still sees it).
    pub fn config(&self) -> HealthConfig {
        let seconds = i64::try_from(self.cool_down_seconds).unwrap_or(i64::MAX);
        HealthConfig {
            window: self.window,
            consecutive_failures: self.consecutive_failures,
            error_rate_percent: self.error_rate_percent,
            min_calls: self.min_calls,
            cool_down: TimeDelta::try_seconds(seconds).unwrap_or(TimeDelta::MAX),
            half_open_probes: self.half_open_probes,
        }
    }
}

impl ConsoleSettings {
    /// What the console crate takes.
    pub fn console(&self) -> simgate_console::ConsoleSettings {
        simgate_console::ConsoleSettings {
            session_lifetime: std::time::Duration::from_secs(
                self.session_hours.clamp(1, 24 * 365) * 3600,
            ),
            secure_cookies: self.secure_cookies,
        }
    }
}

/// How API keys are checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// How long a key's tenant (or its absence) is remembered without
    /// asking the database: another instance's rotation or disabling is
    /// seen here within this (this instance's own at once). 0: no cache.
    pub cache_seconds: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self { cache_seconds: 3 }
    }
}

/// Outbound event deliveries to tenants' endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Let endpoints be loopback, private or link-local addresses, for
    /// local development only: tenants could otherwise reach internal
    /// services through simgate. Off by default, also with `serve --sandbox`.
    pub allow_private_targets: bool,
    /// Keys that seal endpoint secrets at rest, by id: base64 of 32 random
    /// bytes each (`openssl rand -base64 32`). Every one listed opens the
    /// secrets it sealed; shown redacted. Empty: no endpoint can be made,
    /// and `serve` refuses to start while endpoints are stored.
    #[serde(serialize_with = "redact_map")]
    pub secret_keys: BTreeMap<String, SecretString>,
    /// The id of the key in `secret_keys` that seals new secrets (and,
    /// at each start, re-seals those another key sealed).
    pub secret_key_id: Option<String>,
    /// How long, after a rotation, deliveries stay signed with the old
    /// secret beside the new one.
    pub secret_overlap_secs: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            secret_keys: BTreeMap::new(),
            secret_key_id: None,
            secret_overlap_secs: 24 * 3600,
        }
    }
}

/// The id of the development key `serve --sandbox` seals endpoint secrets
/// with when no key is configured.
pub const SANDBOX_SECRET_KEY_ID: &str = "sandbox";
/// That key, published and so no secret: a sandbox database holds demo
/// endpoints only. Base64 of `simgate-sandbox-webhook-key-0001`.
pub const SANDBOX_SECRET_KEY: &str = "c2ltZ2F0ZS1zYW5kYm94LXdlYmhvb2sta2V5LTAwMDE=";

impl WebhookSettings {
    /// For `serve --sandbox`: the development key when none is configured,
    /// so that a sandbox works out of the box and across restarts.
    pub fn with_sandbox_key(&mut self) {
        if self.secret_keys.is_empty() && self.secret_key_id.is_none() {
            self.secret_keys.insert(
                SANDBOX_SECRET_KEY_ID.to_owned(),
                SecretString::from(SANDBOX_SECRET_KEY),
            );
            self.secret_key_id = Some(SANDBOX_SECRET_KEY_ID.to_owned());
        }
    }

    /// The keys as the service takes them; `None` when none is configured.
    pub fn secret_keys(
        &self,
    ) -> Result<Option<simgate_service::secret_keys::SecretKeys>, SecretKeyError> {
        simgate_service::secret_keys::SecretKeys::from_settings(
            self.secret_key_id.as_deref(),
            &self.secret_keys,
        )
    }
}

/// The shape of log lines (`log_format`, `--log-format`,
/// `SIMGATE_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    #[default]
    Text,
    /// One JSON object per line: event fields at the top level, the
    /// request span's fields (request id, tenant id, …) under `span`.
    Json,
}

/// Upstream providers; a provider without settings is not configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Providers {
    pub esim_go: Option<EsimGoSettings>,
    pub esim_story: Option<EsimStorySettings>,
    pub sim_local: Option<SimLocalSettings>,
    pub telnyx: Option<BearerSettings>,
    pub onsim: Option<BearerSettings>,
}

impl Providers {
    /// Refuses a webhook or callback secret configured empty (or blank):
    /// a request carrying an empty header would match it, so anyone could
    /// post provider events.
    pub fn check_webhook_secrets(&self) -> Result<(), SettingsError> {
        let secrets = [
            (
                "providers.esim_go.api_key",
                self.esim_go.as_ref().map(|p| &p.api_key),
            ),
            (
                "providers.esim_story.webhook_secret",
                self.esim_story.as_ref().map(|p| &p.webhook_secret),
            ),
            (
                "providers.sim_local.webhook_api_key",
                self.sim_local.as_ref().map(|p| &p.webhook_api_key),
            ),
        ];
        for (setting, secret) in secrets {
            if secret.is_some_and(|s| s.expose_secret().trim().is_empty()) {
                return Err(SettingsError::EmptySecret(setting));
            }
        }
        Ok(())
    }
}

/// How to reach a provider that authenticates with a bearer API key
/// (Telnyx, ONSIM).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerSettings {
    /// Defaults to the provider's production URL.
    #[serde(default)]
    pub base_url: Option<String>,
    /// API key sent as `Authorization: Bearer` (secret: never logged).
    #[serde(serialize_with = "redact")]
    pub api_key: SecretString,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl BearerSettings {
    /// The configured base URL, or the provider's `production` one.
    pub fn base_url_or(&self, production: &str) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| production.to_owned())
    }

    /// The per-call timeout, at least one second.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_secs.max(1))
    }
}

/// How to reach Sim Local UNITE (its URLs are not published: configure them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimLocalSettings {
    pub base_url: String,
    /// OAuth2 token endpoint.
    pub token_url: String,
    pub client_id: String,
    #[serde(serialize_with = "redact")]
    pub client_secret: SecretString,
    /// API key the fulfilment webhook carries.
    #[serde(serialize_with = "redact")]
    pub webhook_api_key: SecretString,
    #[serde(default = "default_webhook_header")]
    pub webhook_header: String,
    /// Ask UNITE to wait for completion before answering an order.
    #[serde(default)]
    pub synchronous: bool,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_webhook_header() -> String {
    "x-api-key".to_owned()
}

/// How to reach eSIM Go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsimGoSettings {
    #[serde(default = "esim_go_url")]
    pub base_url: String,
    /// Organisation API key (secret: never logged).
    #[serde(serialize_with = "redact")]
    pub api_key: SecretString,
    /// Timeout of each upstream call.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Accept V2 usage callbacks, which are unsigned (off: forgeable).
    #[serde(default)]
    pub accept_unsigned_callbacks: bool,
}

/// How to reach eSIM Story, and what the operator sells through it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsimStorySettings {
    #[serde(default = "esim_story_url")]
    pub base_url: String,
    pub access_key: String,
    /// Base64 secret key for request signing (secret: never logged).
    #[serde(serialize_with = "redact")]
    pub secret_key: SecretString,
    /// Shared secret eSIM Story's webhooks must carry.
    #[serde(serialize_with = "redact")]
    pub webhook_secret: SecretString,
    /// Options sold (eSIM Story publishes no catalogue).
    #[serde(default)]
    pub options: Vec<OptionConfig>,
    /// More options from a file: a JSON array, or TOML `[[options]]` tables.
    #[serde(default)]
    pub options_file: Option<PathBuf>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl EsimStorySettings {
    /// The inline options followed by those of `options_file`.
    pub fn all_options(&self) -> Result<Vec<OptionConfig>, SettingsError> {
        let mut options = self.options.clone();
        if let Some(path) = &self.options_file {
            let fail = |why: String| {
                SettingsError::Invalid(Box::new(figment::Error::from(format!(
                    "{}: {why}",
                    path.display()
                ))))
            };
            let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
            let listed: Vec<OptionConfig> = if path.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?
            } else {
                Figment::from(Toml::string(&text))
                    .extract::<OptionsFile>()
                    .map_err(|e| fail(e.to_string()))?
                    .options
            };
            if listed.is_empty() {
                return Err(fail("lists no options".to_owned()));
            }
            options.extend(listed);
        }
        Ok(options)
    }
}

#[derive(Debug, Deserialize)]
struct OptionsFile {
    options: Vec<OptionConfig>,
}

fn esim_story_url() -> String {
    simgate_connectors::esim_story::client::PRODUCTION_URL.to_owned()
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

/// A database URL with its password, if any, replaced: the rest (host,
/// database) is what an operator checks.
fn redact_url_password<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only URLs that cannot carry a password refuse one.
            let _ = parsed.set_password(Some("REDACTED"));
            s.serialize_str(parsed.as_str())
        }
        _ => s.serialize_str(url),
    }
}

/// Keys by id: the ids shown (an operator checks which are configured),
/// every key redacted.
fn redact_map<S: serde::Serializer>(
    keys: &BTreeMap<String, SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(keys.len()))?;
    for id in keys.keys() {
        map.serialize_entry(id, "[REDACTED]")?;
    }
    map.end()
}

fn redact_optional<S: serde::Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_str("[REDACTED]"),
        None => s.serialize_none(),
    }
}

/// Periods of the background jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Jobs {
    /// Catalogue sync period; it also runs at start.
    pub catalogue_sync_secs: u64,
    /// How soon a catalogue whose first sync failed is tried again (simgate
    /// is not ready until every catalogue is loaded).
    pub catalogue_retry_secs: u64,
    /// How often lost order outcomes are looked for.
    pub reconcile_every_secs: u64,
    /// Age of an unanswered submission before it counts as lost; must
    /// exceed every provider timeout.
    pub reconcile_after_secs: u64,
    /// The longest an order, SIM order or line the reconciler could not
    /// move waits before it is tried again; the wait doubles from a second
    /// up to this, so rows stuck for good never crowd out newer ones.
    pub reconcile_backoff_max_secs: u64,
    /// First wait before a failed event delivery is retried (it doubles).
    pub delivery_backoff_ms: u64,
    /// How long past due a pending delivery must be before it is taken as
    /// one whose job was lost (a failed enqueue, a crash after the commit)
    /// and queued again. More than a delivery's 10 s timeout plus the
    /// queue's 15 s takeover of a dead worker's jobs.
    pub delivery_sweep_after_secs: u64,
    /// How long the request that stored a provider webhook has to apply it
    /// before the inbox takes it as left unapplied by a crash.
    pub webhook_retry_after_secs: u64,
    /// How often each provider balance is read at the latest (a purchase
    /// has it read again within a second or two).
    pub provider_balance_secs: u64,
}

/// The built-in sandboxes used by `serve --sandbox`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// Where the eSIM Go sandbox listens (port 0: any free port).
    pub esim_go_listen: SocketAddr,
    /// Where the eSIM Story sandbox listens.
    pub esim_story_listen: SocketAddr,
    /// Where the Sim Local sandbox listens.
    pub sim_local_listen: SocketAddr,
    /// Where the Telnyx sandbox listens.
    pub telnyx_listen: SocketAddr,
    /// Where the ONSIM sandbox listens.
    pub onsim_listen: SocketAddr,
    /// Number of bundles in the eSIM Go sandbox's generated catalogue
    /// (`None`: its default of ~6,000), so the benchmark can measure a
    /// larger catalogue; `--catalogue-size` overrides it.
    pub catalogue_size: Option<usize>,
    /// API key of the demo tenant created in sandbox mode.
    #[serde(serialize_with = "redact")]
    pub tenant_api_key: SecretString,
    /// What the demo tenant's prepaid account (USD) is funded with, once per
    /// database, so that it can buy at once.
    #[serde(with = "rust_decimal::serde::str")]
    pub demo_funds: rust_decimal::Decimal,
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            catalogue_sync_secs: 6 * 3600,
            catalogue_retry_secs: 30,
            reconcile_every_secs: 10,
            reconcile_after_secs: 45,
            reconcile_backoff_max_secs: 300,
            delivery_backoff_ms: 5000,
            delivery_sweep_after_secs: 120,
            webhook_retry_after_secs: 30,
            provider_balance_secs: 300,
        }
    }
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self {
            esim_go_listen: ([127, 0, 0, 1], 0).into(),
            esim_story_listen: ([127, 0, 0, 1], 0).into(),
            sim_local_listen: ([127, 0, 0, 1], 0).into(),
            telnyx_listen: ([127, 0, 0, 1], 0).into(),
            onsim_listen: ([127, 0, 0, 1], 0).into(),
            catalogue_size: None,
            tenant_api_key: SecretString::from("sk_sandbox_simgate"),
            demo_funds: rust_decimal::Decimal::from(1_000_000),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: ([127, 0, 0, 1], 8080).into(),
            database_url: "sqlite://simgate.db".to_owned(),
            providers: Providers::default(),
            jobs: Jobs::default(),
            sandbox: SandboxSettings::default(),
            admin_api_key: None,
            metrics_listen: None,
            shutdown_grace_secs: 30,
            server: crate::server::ServerSettings::default(),
            log_format: LogFormat::Text,
            webhooks: WebhookSettings::default(),
            health: HealthSettings::default(),
            console: ConsoleSettings::default(),
            auth: AuthSettings::default(),
            money: MoneySettings::default(),
            balances: BalanceSettings::default(),
            limits: LimitSettings::default(),
            retention: RetentionSettings::default(),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value or key is wrong; the message names the key and its source.
    #[error("configuration error: {0}")]
    Invalid(#[from] Box<figment::Error>),
    /// A configuration file asked for explicitly is not there.
    #[error("configuration file {} not found", .0.display())]
    MissingFile(PathBuf),
    /// A provider's webhook or callback secret is empty or blank; names
    /// the setting, never its value.
    #[error("configuration error: {0} is empty: configure the provider's secret")]
    EmptySecret(&'static str),
}

/// The file read when none is given: optional, unlike one given explicitly.
pub const DEFAULT_CONFIG_FILE: &str = "simgate.toml";

impl Settings {
    /// Defaults, then the TOML file, then the environment. `file` is one
    /// given explicitly (`--config`, `SIMGATE_CONFIG`): it must exist.
    /// Without one, `simgate.toml` is read if it exists.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let toml = match file {
            Some(file) if !file.is_file() => {
                return Err(SettingsError::MissingFile(file.to_owned()));
            }
            Some(file) => Toml::file_exact(file),
            None => Toml::file(DEFAULT_CONFIG_FILE),
        };
        let known = top_level_keys();
        Figment::new()
            .merge(toml)
            .merge(Env::prefixed("SIMGATE_").split("__").filter(move |key| {
                let top = key.as_str().split('.').next().unwrap_or_default();
                known.iter().any(|k| k.eq_ignore_ascii_case(top))
            }))
            .extract()
            .map_err(|e| SettingsError::Invalid(Box::new(e)))
    }
}

/// The keys of the top level of the configuration, read off the settings
/// themselves so that a new setting is also read from the environment.
fn top_level_keys() -> Vec<String> {
    match serde_json::to_value(Settings::default()) {
        Ok(serde_json::Value::Object(keys)) => keys.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_is_read_from_the_file_and_defaults_to_text() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("json.toml");
        std::fs::write(&json, "log_format = \"json\"\n").unwrap();
        assert_eq!(
            Settings::load(Some(&json)).unwrap().log_format,
            LogFormat::Json
        );
        let plain = dir.path().join("plain.toml");
        std::fs::write(&plain, "listen = \"127.0.0.1:8080\"\n").unwrap();
        assert_eq!(
            Settings::load(Some(&plain)).unwrap().log_format,
            LogFormat::Text
        );
        let wrong = dir.path().join("wrong.toml");
        std::fs::write(&wrong, "log_format = \"xml\"\n").unwrap();
        assert!(Settings::load(Some(&wrong)).is_err());
    }

    #[test]
    fn health_tuning_is_read_from_the_file_with_defaults_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("health.toml");
        std::fs::write(
            &file,
            "[health]\nconsecutive_failures = 3\ncool_down_seconds = 1\nerror_rate_percent = 25\n",
        )
        .unwrap();
        let config = Settings::load(Some(&file)).unwrap().health.config();
        assert_eq!(config.consecutive_failures, 3);
        assert_eq!(config.cool_down, TimeDelta::seconds(1));
        assert_eq!(config.error_rate_percent, Decimal::from(25));
        assert_eq!(config.window, HealthConfig::default().window);
        assert_eq!(Settings::default().health.config(), HealthConfig::default());
        let typo = dir.path().join("typo.toml");
        std::fs::write(&typo, "[health]\ncooldown = 1\n").unwrap();
        assert!(
            Settings::load(Some(&typo)).is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn limits_are_read_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("limits.toml");
        std::fs::write(
            &file,
            "[limits]\nrequests = { quota = 5, window_secs = 60 }\nrepoll_interval_secs = 2\n\
             console_sign_ins_per_ip = { quota = 3, window_secs = 600 }\nmax_waiting_requests = 4\n\
             max_webhook_endpoints = 5\nmax_replays_per_event = 6\n",
        )
        .unwrap();
        let limits = Settings::load(Some(&file)).unwrap().limits.config();
        assert_eq!(limits.requests, Rate::new(5, 60));
        assert_eq!(limits.repoll_interval, std::time::Duration::from_secs(2));
        assert_eq!(limits.console_sign_ins_per_ip, Rate::new(3, 600));
        assert_eq!(
            (
                limits.max_waiting_requests,
                limits.max_webhook_endpoints,
                limits.max_replays_per_event
            ),
            (4, 5, 6)
        );
        assert_eq!(
            limits.order_creations,
            LimitsConfig::default().order_creations
        );
        let typo = dir.path().join("typo.toml");
        std::fs::write(
            &typo,
            "[limits]\nrequest = { quota = 5, window_secs = 60 }\n",
        )
        .unwrap();
        assert!(Settings::load(Some(&typo)).is_err());
    }

    #[test]
    fn a_meaningless_health_tuning_stops_the_start_up_check() {
        let settings = Settings {
            health: HealthSettings {
                min_calls: 500,
                ..HealthSettings::default()
            },
            ..Settings::default()
        };
        let refused = crate::check_settings(&settings).unwrap_err();
        assert!(
            refused.to_string().contains("min_calls"),
            "names the setting: {refused}"
        );
        assert!(crate::check_settings(&Settings::default()).is_ok());
    }
}
