//! The provider table: one entry per provider, joining the connector
//! module's [`ProviderDescriptor`] with what only the binary can know (its
//! settings and its simulator). Everything that handles every provider
//! iterates [`all`]: the registry build ([`crate::connectors`]), the
//! settings check, the reconcile cutoff, `serve --sandbox`,
//! `simgate sandbox --provider X` and the test harness.
//!
//! [`provider`] is an exhaustive `match` on [`ProviderId`]: a new provider
//! variant does not compile until it has its entry here.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use simgate_connectors::esim_go::{EsimGoClient, EsimGoConfig};
use simgate_connectors::esim_story::{EsimStoryClient, EsimStoryConfig};
use simgate_connectors::http::RetryPolicy;
use simgate_connectors::onsim::{OnsimClient, OnsimConfig};
use simgate_connectors::sim_local::{SimLocalClient, SimLocalConfig};
use simgate_connectors::telnyx::{TelnyxClient, TelnyxConfig};
use simgate_connectors::{ProviderDescriptor, Registration};
use simgate_domain::ProviderId;
use simgate_sandbox::simulator::SimulatorHandle;

use crate::StartError;
use crate::settings::{BearerSettings, Providers, SandboxSettings};

/// Telnyx's production API.
const TELNYX_URL: &str = "https://api.telnyx.com/v2";
/// ONSIM's production API.
const ONSIM_URL: &str = "https://api.onsimapp.com";

/// A simulator being started: what [`Provider::start_sandbox`] returns.
pub type SandboxStart = Pin<Box<dyn Future<Output = Result<RunningSandbox, StartError>> + Send>>;

/// One provider's row of the table.
#[derive(Clone, Copy)]
pub struct Provider {
    /// Who it is, what kind of provider, its settings section.
    pub descriptor: ProviderDescriptor,
    /// Its client built from its `[providers.<section>]` settings; `None`
    /// when that section is absent (the provider is not configured).
    pub connector: fn(&Providers) -> Result<Option<Registration>, StartError>,
    /// Its per-call timeout in seconds, when configured: a call still in
    /// flight must never look lost, so reconciliation waits out the longest.
    pub timeout_secs: fn(&Providers) -> Option<u64>,
    /// Where its simulator listens under `serve --sandbox` (`[sandbox]`).
    pub sandbox_listen: fn(&SandboxSettings) -> SocketAddr,
    /// Whether its simulator sends webhooks (`--webhook-url` is refused
    /// for one that does not).
    pub sandbox_sends_webhooks: bool,
    /// Starts its simulator, with default behaviour, on an address; the
    /// `[sandbox]` settings carry options some simulators take (eSIM Go's
    /// catalogue size).
    pub start_sandbox: fn(SocketAddr, &SandboxSettings) -> SandboxStart,
}

/// A running bearer-key simulator (Telnyx, ONSIM): its banner shows the
/// sandbox-only key, and `plug` writes its settings into `[providers]`.
fn bearer_sandbox(
    name: &str,
    handle: SimulatorHandle,
    settings: BearerSettings,
    plug: fn(&mut Providers, BearerSettings),
) -> RunningSandbox {
    let banner = format!(
        "{name} sandbox on {}; bearer key: {}",
        handle.base_url(),
        settings.api_key.expose_secret()
    );
    RunningSandbox {
        handle,
        banner,
        configure: Box::new(move |providers| plug(providers, settings.clone())),
        webhooks: None,
    }
}

impl Provider {
    /// Whether its settings section is present.
    pub fn is_configured(&self, providers: &Providers) -> bool {
        (self.timeout_secs)(providers).is_some()
    }
}

/// A provider's simulator, serving: settings that reach it, and where its
/// webhooks go.
pub struct RunningSandbox {
    /// The server; the simulator stops when it is dropped.
    pub handle: SimulatorHandle,
    /// What `simgate sandbox` prints: where it listens and the
    /// sandbox-only credentials a simgate needs to reach it.
    pub banner: String,
    /// Writes settings reaching this simulator into `[providers]`.
    configure: Box<dyn Fn(&mut Providers) + Send + Sync>,
    /// Points its webhooks at a URL; `None` for a simulator that sends none.
    webhooks: Option<Box<dyn Fn(Option<String>) + Send + Sync>>,
}

impl RunningSandbox {
    /// Configures the provider to use this simulator.
    pub fn configure(&self, providers: &mut Providers) {
        (self.configure)(providers);
    }

    /// Sends its webhooks to `url` (`None`: nowhere); a simulator that
    /// sends none ignores it.
    pub fn set_webhook_url(&self, url: Option<String>) {
        if let Some(set) = &self.webhooks {
            set(url);
        }
    }
}

/// Every provider's entry, in [`ProviderId::ALL`] order.
pub fn all() -> impl Iterator<Item = Provider> {
    ProviderId::ALL.into_iter().map(provider)
}

/// A provider's entry. Exhaustive, so a new [`ProviderId`] variant points
/// here.
pub fn provider(id: ProviderId) -> Provider {
    match id {
        ProviderId::EsimGo => ESIM_GO,
        ProviderId::EsimStory => ESIM_STORY,
        ProviderId::SimLocal => SIM_LOCAL,
        ProviderId::Telnyx => TELNYX,
        ProviderId::Onsim => ONSIM,
    }
}

/// The longest per-call timeout of the configured providers, in seconds
/// (0 when none is configured).
pub fn longest_timeout_secs(providers: &Providers) -> u64 {
    all()
        .filter_map(|p| (p.timeout_secs)(providers))
        .max()
        .unwrap_or(0)
}

const ESIM_GO: Provider = Provider {
    descriptor: simgate_connectors::esim_go::DESCRIPTOR,
    connector: |providers| {
        let Some(esim_go) = &providers.esim_go else {
            return Ok(None);
        };
        Ok(Some(Registration::Esim(Arc::new(EsimGoClient::new(
            EsimGoConfig {
                base_url: esim_go.base_url.clone(),
                api_key: esim_go.api_key.clone(),
                timeout: Duration::from_secs(esim_go.timeout_secs.max(1)),
                retry: RetryPolicy::default(),
                accept_unsigned_callbacks: esim_go.accept_unsigned_callbacks,
            },
        )?))))
    },
    timeout_secs: |providers| providers.esim_go.as_ref().map(|p| p.timeout_secs),
    sandbox_listen: |sandbox| sandbox.esim_go_listen,
    sandbox_sends_webhooks: true,
    start_sandbox: |listen, sandbox| {
        let catalogue_size = sandbox.catalogue_size;
        Box::pin(async move {
            let (handle, sandbox, settings) =
                crate::start_esim_go_sandbox(listen, catalogue_size).await?;
            let banner = format!(
                "eSIM Go sandbox on {} ({} bundles); X-API-Key: {}",
                handle.base_url(),
                sandbox.catalogue_len(),
                settings.api_key.expose_secret()
            );
            Ok(RunningSandbox {
                handle,
                banner,
                configure: Box::new(move |providers| {
                    providers.esim_go = Some(settings.clone());
                }),
                webhooks: Some(Box::new(move |url| sandbox.set_callback_url(url))),
            })
        })
    },
};

const ESIM_STORY: Provider = Provider {
    descriptor: simgate_connectors::esim_story::DESCRIPTOR,
    connector: |providers| {
        let Some(story) = &providers.esim_story else {
            return Ok(None);
        };
        Ok(Some(Registration::Esim(Arc::new(EsimStoryClient::new(
            EsimStoryConfig {
                base_url: story.base_url.clone(),
                access_key: story.access_key.clone(),
                secret_key: story.secret_key.clone(),
                webhook_secret: story.webhook_secret.clone(),
                options: story.all_options()?,
                timeout: Duration::from_secs(story.timeout_secs.max(1)),
                retry: RetryPolicy::default(),
            },
        )?))))
    },
    timeout_secs: |providers| providers.esim_story.as_ref().map(|p| p.timeout_secs),
    sandbox_listen: |sandbox| sandbox.esim_story_listen,
    sandbox_sends_webhooks: true,
    start_sandbox: |listen, _| {
        Box::pin(async move {
            let (handle, sandbox, settings) = crate::start_esim_story_sandbox(listen).await?;
            let banner = format!(
                "eSIM Story sandbox on {} ({} options); access key: {}; secret key: {}; \
                 webhook secret: {}",
                settings.base_url,
                settings.options.len(),
                settings.access_key,
                settings.secret_key.expose_secret(),
                settings.webhook_secret.expose_secret()
            );
            Ok(RunningSandbox {
                handle,
                banner,
                configure: Box::new(move |providers| {
                    providers.esim_story = Some(settings.clone());
                }),
                webhooks: Some(Box::new(move |url| {
                    if let Some(url) = url {
                        sandbox.set_webhook_url(url);
                    }
                })),
            })
        })
    },
};

const SIM_LOCAL: Provider = Provider {
    descriptor: simgate_connectors::sim_local::DESCRIPTOR,
    connector: |providers| {
        let Some(sim_local) = &providers.sim_local else {
            return Ok(None);
        };
        Ok(Some(Registration::Esim(Arc::new(SimLocalClient::new(
            SimLocalConfig {
                base_url: sim_local.base_url.clone(),
                token_url: sim_local.token_url.clone(),
                client_id: sim_local.client_id.clone(),
                client_secret: sim_local.client_secret.clone(),
                webhook_api_key: sim_local.webhook_api_key.clone(),
                webhook_header: sim_local.webhook_header.clone(),
                synchronous: sim_local.synchronous,
                timeout: Duration::from_secs(sim_local.timeout_secs.max(1)),
                retry: RetryPolicy::default(),
            },
        )?))))
    },
    timeout_secs: |providers| providers.sim_local.as_ref().map(|p| p.timeout_secs),
    sandbox_listen: |sandbox| sandbox.sim_local_listen,
    sandbox_sends_webhooks: true,
    start_sandbox: |listen, _| {
        Box::pin(async move {
            let (handle, sandbox, settings) = crate::start_sim_local_sandbox(
                listen,
                simgate_sandbox::sim_local::SimLocalSandboxConfig::default(),
            )
            .await?;
            let banner = format!(
                "Sim Local sandbox on {}; token URL: {}; client id: {}; client secret: {}; \
                 webhook {}: {}",
                handle.base_url(),
                settings.token_url,
                settings.client_id,
                settings.client_secret.expose_secret(),
                settings.webhook_header,
                settings.webhook_api_key.expose_secret()
            );
            Ok(RunningSandbox {
                handle,
                banner,
                configure: Box::new(move |providers| {
                    providers.sim_local = Some(settings.clone());
                }),
                webhooks: Some(Box::new(move |url| sandbox.set_webhook_url(url))),
            })
        })
    },
};

const TELNYX: Provider = Provider {
    descriptor: simgate_connectors::telnyx::DESCRIPTOR,
    connector: |providers| {
        let Some(telnyx) = &providers.telnyx else {
            return Ok(None);
        };
        Ok(Some(Registration::SimOrders(Arc::new(TelnyxClient::new(
            TelnyxConfig {
                base_url: telnyx.base_url_or(TELNYX_URL),
                api_key: telnyx.api_key.clone(),
                timeout: telnyx.timeout(),
            },
        )?))))
    },
    timeout_secs: |providers| providers.telnyx.as_ref().map(|p| p.timeout_secs),
    sandbox_listen: |sandbox| sandbox.telnyx_listen,
    sandbox_sends_webhooks: false,
    start_sandbox: |listen, _| {
        Box::pin(async move {
            let (handle, _, settings) = crate::start_telnyx_sandbox(
                listen,
                simgate_sandbox::telnyx::TelnyxSandboxConfig::default(),
            )
            .await?;
            Ok(bearer_sandbox(
                "Telnyx",
                handle,
                settings,
                |providers, settings| {
                    providers.telnyx = Some(settings);
                },
            ))
        })
    },
};

const ONSIM: Provider = Provider {
    descriptor: simgate_connectors::onsim::DESCRIPTOR,
    connector: |providers| {
        let Some(onsim) = &providers.onsim else {
            return Ok(None);
        };
        Ok(Some(Registration::Lines(Arc::new(OnsimClient::new(
            OnsimConfig {
                base_url: onsim.base_url_or(ONSIM_URL),
                api_key: onsim.api_key.clone(),
                timeout: onsim.timeout(),
            },
        )?))))
    },
    timeout_secs: |providers| providers.onsim.as_ref().map(|p| p.timeout_secs),
    sandbox_listen: |sandbox| sandbox.onsim_listen,
    sandbox_sends_webhooks: false,
    start_sandbox: |listen, _| {
        Box::pin(async move {
            let (handle, _, settings) = crate::start_onsim_sandbox(
                listen,
                simgate_sandbox::onsim::OnsimSandboxConfig::default(),
            )
            .await?;
            Ok(bearer_sandbox(
                "ONSIM",
                handle,
                settings,
                |providers, settings| {
                    providers.onsim = Some(settings);
                },
            ))
        })
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_entry_is_its_own_providers() {
        for id in ProviderId::ALL {
            assert_eq!(provider(id).descriptor.id, id);
        }
    }

    /// The table's sections are exactly the keys of `[providers]`, so a
    /// provider's settings and its entry cannot drift apart.
    #[test]
    fn sections_are_the_settings_keys() {
        let serde_json::Value::Object(keys) = serde_json::to_value(Providers::default()).unwrap()
        else {
            panic!("providers serialise as a table");
        };
        let mut keys: Vec<&str> = keys.keys().map(String::as_str).collect();
        let mut sections: Vec<&str> = all().map(|p| p.descriptor.section).collect();
        keys.sort_unstable();
        sections.sort_unstable();
        assert_eq!(keys, sections);
    }

    /// Every simulator starts from the table alone, configures its own
    /// provider, and the registration built from that has the kind its
    /// descriptor declares.
    #[tokio::test]
    async fn every_sandbox_configures_its_provider() {
        for entry in all() {
            let id = entry.descriptor.id;
            let running =
                (entry.start_sandbox)(([127, 0, 0, 1], 0).into(), &SandboxSettings::default())
                    .await
                    .unwrap();
            assert!(
                running.banner.contains("sandbox on http://127.0.0.1:"),
                "{id}"
            );
            assert_eq!(
                running.webhooks.is_some(),
                entry.sandbox_sends_webhooks,
                "{id}"
            );
            let mut providers = Providers::default();
            assert!(!entry.is_configured(&providers));
            running.configure(&mut providers);
            assert!(entry.is_configured(&providers), "{id}");
            for other in all().filter(|p| p.descriptor.id != id) {
                assert!(
                    !other.is_configured(&providers),
                    "{id} configures only itself"
                );
            }
            let registration = (entry.connector)(&providers).unwrap().unwrap();
            assert_eq!(registration.kind(), entry.descriptor.kind, "{id}");
        }
    }
}
