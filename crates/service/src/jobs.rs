//! Background jobs: the scheduled catalogue sync and the order reconciler
//! (which also follows SIM card orders, settles line provisioning and
//! refreshes the backlog and catalogue-age gauges), plus the worker of the
//! event delivery queue.
//!
//! The first two are idempotent passes over durable state, so a plain
//! interval loop is enough: their queue *is* the orders table, and a pass
//! interrupted by a crash is simply run again by the next process. Event
//! deliveries are individual, delayed and retried: they go through apalis.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Services;
use crate::queue::ApalisQueue;

/// How often each job runs.
#[derive(Debug, Clone, Copy)]
pub struct JobSchedule {
    /// Catalogue sync period (it also runs once at start).
    pub catalogue_every: Duration,
    /// Reconciler period (it also runs once at start).
    pub reconcile_every: Duration,
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
        let catalogue = {
            let services = services.clone();
            every(schedule.catalogue_every, stopped.clone(), move || {
                let services = services.clone();
                async move {
                    services.sync_all_catalogues(&|_, _| {}).await;
                }
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
                if let Err(error) = services.refresh_gauges().await {
                    tracing::warn!(%error, "could not refresh the backlog and catalogue gauges");
                }
            }
        });
        Self {
            stop,
            tasks: vec![catalogue, reconcile, deliveries],
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
