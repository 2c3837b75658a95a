//! Background jobs: the scheduled catalogue sync, the catalogue index's
//! check for another instance's sync, and the order reconciler
//! (which also follows SIM card orders, settles line provisioning, applies
//! stored webhooks not applied yet, queues again deliveries left without a job and refreshes the backlog and
//! catalogue-age gauges), the provider balance
//! reads (see [`crate::balances`]), the retention purge (see
//! [`crate::retention`]), plus the worker of the event delivery queue.
//!
//! These passes are idempotent over durable state, so a plain
//! interval loop is enough: their queue *is* the orders table, and a pass
//! interrupted by a crash is simply run again by the next process. Event
//! deliveries are individual, delayed and retried: they go through apalis.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Services;
use crate::queue::ApalisQueue;
use crate::retention::Retention;

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
    /// Purge job period (it also runs once at start).
    pub retention_every: Duration,
    /// What the purge job keeps.
    pub retention: Retention,
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
            every(
                "catalogue sync",
                schedule.catalogue_every,
                stopped.clone(),
                move || {
                    let (services, syncing) = (services.clone(), syncing.clone());
                    async move {
                        let _turn = syncing.lock().await;
                        services.sync_all_catalogues(&|_, _| {}).await;
                    }
                },
            )
        };
        let catalogue_retry = {
            let services = services.clone();
            // The scheduled sync makes the first attempt at start.
            let mut at_start = true;
            every(
                "catalogue retry",
                schedule.catalogue_retry_every,
                stopped.clone(),
                move || {
                    let first_tick = std::mem::replace(&mut at_start, false);
                    let (services, syncing) = (services.clone(), syncing.clone());
                    async move {
                        if first_tick {
                            return;
                        }
                        let _turn = syncing.lock().await;
                        retry_unloaded_catalogues(&services).await;
                    }
                },
            )
        };
        // Another instance's sync reaches this one's catalogue index
        // within this period (and the rebuild).
        let catalogue_index = {
            let services = services.clone();
            every(
                "catalogue index",
                CATALOGUE_INDEX_RECHECK,
                stopped.clone(),
                move || {
                    let services = services.clone();
                    async move {
                        if let Err(error) = services.refresh_catalogue_index().await {
                            tracing::warn!(%error, "could not check the catalogue index for changes");
                        }
                    }
                },
            )
        };
        let balances = {
            let services = services.clone();
            let period = schedule.provider_balance_every;
            every(
                "provider balances",
                BALANCE_TICK,
                stopped.clone(),
                move || {
                    let services = services.clone();
                    async move { services.balance_pass(period).await }
                },
            )
        };
        let purge = {
            let services = services.clone();
            let retention = schedule.retention;
            every(
                "retention purge",
                schedule.retention_every,
                stopped.clone(),
                move || {
                    let services = services.clone();
                    async move {
                        match services.purge(&retention).await {
                            Ok(report) if report.is_empty() => {}
                            Ok(report) => tracing::info!(?report, "purged old rows"),
                            Err(error) => tracing::warn!(%error, "retention purge pass failed"),
                        }
                    }
                },
            )
        };
        let reconcile = every("reconcile", schedule.reconcile_every, stopped, move || {
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
                match services.apply_inbox().await {
                    Ok(0) => {}
                    Ok(applied) => tracing::info!(applied, "applied stored webhooks"),
                    Err(error) => tracing::warn!(%error, "webhook inbox pass failed"),
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
                purge,
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

/// Runs `pass` every `period` until `stopped` changes. A pass that panics
/// is logged as a failed pass and the schedule goes on: one bad row or
/// provider answer must not stop a job until the next restart.
fn every<F, Fut>(
    job: &'static str,
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
                _ = ticks.tick() => {
                    // The pass's state is its own and rebuilt by the next
                    // call; nothing it half-changed is reused after a panic.
                    let contained = AssertUnwindSafe(async { pass().await }).catch_unwind();
                    if let Err(panic) = contained.await {
                        tracing::error!(
                            job,
                            panic = panic_message(panic.as_ref()),
                            "background job pass panicked; the next pass runs on schedule"
                        );
                    }
                }
                _ = stopped.changed() => break,
            }
        }
    })
}

/// The message a panic was raised with, when it is text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pass_that_panics_is_contained_and_the_job_runs_again() {
        let (_stop, stopped) = watch::channel(false);
        let (ran, mut runs) = tokio::sync::mpsc::unbounded_channel();
        let mut count = 0_u32;
        let job = every("test", Duration::from_millis(5), stopped, move || {
            count += 1;
            let (run, ran) = (count, ran.clone());
            async move {
                assert!(run != 1, "the first pass panics");
                let _ = ran.send(run);
            }
        });
        let later = tokio::time::timeout(Duration::from_secs(10), runs.recv())
            .await
            .expect("a pass after the panicking one runs");
        assert_eq!(later, Some(2));
        assert!(!job.is_finished(), "the job is still scheduled");
        job.abort();
    }
}
