//! Background jobs: the scheduled catalogue sync, the catalogue index's
//! check for another instance's sync, and the order reconciler
//! (which also follows SIM card orders, settles line provisioning, queues
//! again deliveries left without a job and refreshes the backlog and
//! catalogue-age gauges), the provider balance
//! reads (see [`crate::balances`]), plus the worker of the
//! event delivery queue.
//!
//! These passes are idempotent over durable state, so a plain
//! interval loop is enough: their queue *is* the orders table, and a pass
//! interrupted by a crash is simply run again by the next process. Event
//! deliveries are individual, delayed and retried: they go through apalis.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Services;
use crate::queue::ApalisQueue;

/// How often the stored catalogue's version is compared with the one this
/// instance's index was built from: one small read per second.
const CATALOGUE_INDEX_RECHECK: Duration = Duration::from_secs(1);

/// How often the balance job looks for balances a purchase made stale (and
/// reloads the stored ones): the debounce of reads after purchases.
pub const BALANCE_TICK: Duration = Duration::from_secs(1);

/// How often each job runs.
#[derive(Debug, Clone, Copy)]
pub struct JobSchedule {
    /// Catalogue sync period (it also runs once at start).
    pub catalogue_every: Duration,
    /// How soon a catalogue that is not loaded yet (its first sync failed)
    /// is tried again: simgate is not ready until it is.
    pub catalogue_retry_every: Duration,
    /// Reconciler period (it also runs once at start).
    pub reconcile_every: Duration,
    /// How often each provider balance is read at the latest; a purchase
    /// has it read again within [`BALANCE_TICK`].
    pub provider_balance_every: Duration,
}

/// Running background jobs; stopped by [`BackgroundJobs::stop`] or on drop.
pub struct BackgroundJobs {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl BackgroundJobs {
    /// Starts the jobs and the event delivery worker.
    pub fn start(services: Services, schedule: JobSchedule, queue: &ApalisQueue) -> Self {
        let (stop, stopped) = watch::channel(false);
        let deliveries = queue.start_worker(services.clone(), stopped.clone());
        // The scheduled sync and the retries of unloaded catalogues take
        // turns, so that a provider is never synced twice at once.
        let syncing = Arc::new(tokio::sync::Mutex::new(()));
        let catalogue = {
            let (services, syncing) = (services.clone(), syncing.clone());
            every(schedule.catalogue_every, stopped.clone(), move || {
                let (services, syncing) = (services.clone(), syncing.clone());
                async move {
                    let _turn = syncing.lock().await;
                    services.sync_all_catalogues(&|_, _| {}).await;
                }
            })
        };
        let catalogue_retry = {
            let services = services.clone();
            // The scheduled sync makes the first attempt at start.
            let mut at_start = true;
            every(schedule.catalogue_retry_every, stopped.clone(), move || {
                let first_tick = std::mem::replace(&mut at_start, false);
                let (services, syncing) = (services.clone(), syncing.clone());
                async move {
                    if first_tick {
                        return;
                    }
                    let _turn = syncing.lock().await;
                    retry_unloaded_catalogues(&services).await;
                }
            })
        };
        // Another instance's sync reaches this one's catalogue index
        // within this period (and the rebuild).
        let catalogue_index = {
            let services = services.clone();
            every(CATALOGUE_INDEX_RECHECK, stopped.clone(), move || {
                let services = services.clone();
                async move {
                    if let Err(error) = services.refresh_catalogue_index().await {
                        tracing::warn!(%error, "could not check the catalogue index for changes");
                    }
                }
            })
        };
        let balances = {
            let services = services.clone();
            let period = schedule.provider_balance_every;
            every(BALANCE_TICK, stopped.clone(), move || {
                let services = services.clone();
                async move { services.balance_pass(period).await }
            })
        };
        let reconcile = every(schedule.reconcile_every, stopped, move || {
            let services = services.clone();
            async move {
                match services.reconcile_orders().await {
                    Ok(0) => {}
                    Ok(settled) => tracing::info!(settled, "reconciled orders"),
                    Err(error) => tracing::warn!(%error, "order reconciliation pass failed"),
                }
                match services.follow_sim_orders().await {
                    Ok(0) => {}
                    Ok(changed) => tracing::info!(changed, "SIM orders moved on"),
                    Err(error) => tracing::warn!(%error, "SIM order follow-up pass failed"),
                }
                match services.settle_lines().await {
                    Ok(0) => {}
                    Ok(settled) => tracing::info!(settled, "settled line provisioning"),
                    Err(error) => tracing::warn!(%error, "line settlement pass failed"),
                }
                match services.sweep_deliveries().await {
                    Ok(0) => {}
                    Ok(queued) => tracing::warn!(queued, "queued deliveries that had no job"),
                    Err(error) => tracing::warn!(%error, "delivery sweep failed"),
                }
                match services.settle_accounts().await {
                    (0, 0) => {}
                    (alerted, refunds) => {
                        tracing::info!(alerted, refunds, "accounts settled");
                    }
                }
                if let Err(error) = services.refresh_gauges().await {
                    tracing::warn!(%error, "could not refresh the backlog and catalogue gauges");
                }
            }
        });
        Self {
            stop,
            tasks: vec![
                catalogue,
                catalogue_retry,
                catalogue_index,
                balances,
                reconcile,
                deliveries,
            ],
        }
    }

    /// Stops the jobs after their current pass.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for BackgroundJobs {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Syncs the catalogues that are still not loaded (a failed first sync).
async fn retry_unloaded_catalogues(services: &Services) {
    let missing = match services.unloaded_catalogues().await {
        Ok(missing) => missing,
        Err(error) => {
            tracing::warn!(%error, "cannot tell which catalogues are loaded");
            return;
        }
    };
    for provider in missing {
        if let Err(error) = services.sync_catalogue(provider, &|_| {}).await {
            tracing::warn!(%provider, %error, "catalogue still not loaded; will retry");
        }
    }
}

fn every<F, Fut>(
    period: Duration,
    mut stopped: watch::Receiver<bool>,
    mut pass: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => pass().await,
                _ = stopped.changed() => break,
            }
        }
    })
}
