//! Readiness: simgate serves well only once every configured catalogue is
//! loaded, since searches and orders read the local copy. Until then
//! `/readyz` says what is missing and the "ready" line is not printed.

use std::collections::BTreeSet;
use std::time::Duration;

use simgate_domain::{Capability, ProviderId};

use crate::{ServiceError, Services};

/// How often a wait for readiness looks at the store again, for a catalogue
/// another instance sharing the database loaded.
const RECHECK_EVERY: Duration = Duration::from_secs(1);

impl Services {
    /// The configured providers whose catalogue is not loaded yet: neither
    /// synced by this process nor stored non-empty by an earlier sync.
    pub async fn unloaded_catalogues(&self) -> Result<Vec<ProviderId>, ServiceError> {
        let loaded = self.catalogues_loaded.borrow().clone();
        let mut missing = Vec::new();
        for provider in self.catalogue_providers() {
            if loaded.contains(&provider) {
                continue;
            }
            match self.store.last_catalogue_sync(provider).await? {
                Some((_, products)) if products > 0 => self.catalogue_loaded(provider),
                _ => missing.push(provider),
            }
        }
        Ok(missing)
    }

    /// Returns once every configured catalogue is loaded. A store that
    /// cannot be read is logged and asked again: it may be restarting.
    pub async fn until_catalogues_loaded(&self) {
        let mut changes = self.catalogues_loaded.subscribe();
        loop {
            match self.unloaded_catalogues().await {
                Ok(missing) if missing.is_empty() => return,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "readiness: catalogue state unreadable"),
            }
            // The sender lives in `self`, so `changed` cannot fail here.
            let _ = tokio::time::timeout(RECHECK_EVERY, changes.changed()).await;
        }
    }

    /// Records that a provider's catalogue is loaded, waking readiness waiters.
    pub(crate) fn catalogue_loaded(&self, provider: ProviderId) {
        self.catalogues_loaded
            .send_if_modified(|loaded| loaded.insert(provider));
    }

    fn catalogue_providers(&self) -> BTreeSet<ProviderId> {
        self.connectors
            .all()
            .filter(|c| c.capabilities().contains(&Capability::Catalogue))
            .map(|c| c.provider())
            .collect()
    }
}
