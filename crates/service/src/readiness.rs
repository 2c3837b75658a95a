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
    /// The configured providers whose catalogue searches cannot find yet:
    /// not in this instance's catalogue index with at least one product.
    /// Readiness asks the index rather than the store because searches and
    /// offers read the index: a catalogue stored (by a sync here or on
    /// another instance) but not yet indexed would answer empty searches.
    pub async fn unloaded_catalogues(&self) -> Result<Vec<ProviderId>, ServiceError> {
        let missing = self.catalogues_missing_from_index();
        if missing.is_empty() {
            return Ok(missing);
        }
        // Cheap when nothing changed: one read of the sync times.
        self.refresh_catalogue_index().await?;
        Ok(self.catalogues_missing_from_index())
    }

    fn catalogues_missing_from_index(&self) -> Vec<ProviderId> {
        let index = self.catalogue_index();
        let indexed = |provider: ProviderId| {
            index.as_ref().is_some_and(|index| {
                index
                    .version
                    .iter()
                    .any(|(p, _, products)| *p == provider && *products > 0)
            })
        };
        self.catalogue_providers()
            .into_iter()
            .filter(|provider| !indexed(*provider))
            .collect()
    }

    /// Returns once every configured catalogue is loaded. A store that
    /// cannot be read is logged and asked again: it may be restarting.
    pub async fn until_catalogues_loaded(&self) {
        let mut changes = self.catalogue_synced.subscribe();
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

    /// Wakes readiness waiters after a sync, to look at the index again.
    pub(crate) fn catalogue_synced(&self) {
        self.catalogue_synced.send_replace(());
    }

    fn catalogue_providers(&self) -> BTreeSet<ProviderId> {
        self.connectors
            .all()
            .filter(|c| c.capabilities().contains(&Capability::Catalogue))
            .map(|c| c.provider())
            .collect()
    }
}
