//! Catalogue sync: downloads each provider's catalogue into the local store,
//! so that searches never call upstream.

use std::time::{Duration, Instant};

use chrono::Utc;
use simgate_connectors::{CatalogueProgress, Connector};
use simgate_domain::ProviderId;

use crate::{ServiceError, Services};

/// The outcome of syncing one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub provider: ProviderId,
    pub products: usize,
    pub took: Duration,
}

impl SyncReport {
    /// The log line of a sync, written once searches can see it.
    fn log(&self) {
        tracing::info!(provider = %self.provider, products = self.products, took_ms = self.took.as_millis() as u64, "catalogue synced");
    }
}

impl Services {
    /// Syncs one provider's catalogue, reporting download progress.
    pub async fn sync_catalogue(
        &self,
        provider: ProviderId,
        progress: &(dyn Fn(CatalogueProgress) + Send + Sync),
    ) -> Result<SyncReport, ServiceError> {
        let report = self.store_catalogue(provider, progress).await?;
        self.index_synced_catalogues().await;
        report.log();
        Ok(report)
    }

    /// Downloads and stores one provider's catalogue, leaving the index
    /// for the caller to rebuild.
    async fn store_catalogue(
        &self,
        provider: ProviderId,
        progress: &(dyn Fn(CatalogueProgress) + Send + Sync),
    ) -> Result<SyncReport, ServiceError> {
        let connector = self
            .connectors
            .get(provider)
            .ok_or(ServiceError::ProviderNotConfigured(provider))?;
        let started = Instant::now();
        let stored = match self.fetch_and_store(connector.as_ref(), progress).await {
            Ok(stored) => stored,
            Err(error) => {
                crate::telemetry::catalogue_sync_failed(provider);
                return Err(error);
            }
        };
        crate::telemetry::catalogue_synced(provider, stored);
        Ok(SyncReport {
            provider,
            products: stored,
            took: started.elapsed(),
        })
    }

    /// Rebuilds the index over what the syncs stored, then wakes readiness:
    /// searches see the new catalogue before readiness counts it loaded.
    /// When the rebuild fails, the index job tries again within a second.
    async fn index_synced_catalogues(&self) {
        if let Err(error) = self.refresh_catalogue_index().await {
            tracing::warn!(%error, "catalogue index not rebuilt after the sync");
        }
        self.catalogue_synced();
    }

    async fn fetch_and_store(
        &self,
        connector: &dyn Connector,
        progress: &(dyn Fn(CatalogueProgress) + Send + Sync),
    ) -> Result<usize, ServiceError> {
        let products = connector
            .fetch_catalogue(progress)
            .await
            .map_err(ServiceError::upstream)?;
        Ok(self
            .store
            .replace_catalogue(connector.provider(), &products, Utc::now())
            .await?)
    }

    /// Syncs every configured provider that lists a catalogue; one
    /// provider's failure does not stop the others.
    pub async fn sync_all_catalogues(
        &self,
        progress: &(dyn Fn(ProviderId, CatalogueProgress) + Send + Sync),
    ) -> Vec<(ProviderId, Result<SyncReport, ServiceError>)> {
        let providers: Vec<ProviderId> = self
            .connectors
            .all()
            .filter(|c| {
                c.capabilities()
                    .contains(&simgate_domain::Capability::Catalogue)
            })
            .map(|c| c.provider())
            .collect();
        let mut reports = Vec::new();
        for provider in providers {
            let result = self
                .store_catalogue(provider, &|p| progress(provider, p))
                .await;
            if let Err(error) = &result {
                tracing::error!(%provider, %error, "catalogue sync failed");
            }
            reports.push((provider, result));
        }
        // One rebuild after them all rather than one per provider: each is
        // a full read of the catalogue held beside the index it replaces,
        // which set the process's peak memory three times over at start.
        if reports.iter().any(|(_, result)| result.is_ok()) {
            self.index_synced_catalogues().await;
        }
        for report in reports
            .iter()
            .filter_map(|(_, result)| result.as_ref().ok())
        {
            report.log();
        }
        reports
    }
}
