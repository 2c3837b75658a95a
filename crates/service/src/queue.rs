//! The durable delivery queue: apalis, over the same database as the store
//! (SQLite or PostgreSQL), behind the small [`DeliveryQueue`] trait so the
//! rest of simgate never names the job library.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apalis::prelude::{BackendExt, BoxDynError, Data, TaskBuilder, TaskSink, WorkerBuilder};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use simgate_domain::DeliveryId;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Services;

/// How often an idle worker looks for due deliveries. apalis otherwise
/// waits for its 30 s heartbeat, too coarse for a retry 200 ms away.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// The apalis queue holding delivery attempts.
const QUEUE: &str = "simgate.deliveries";
/// Workers prove they are alive this often. A delivery claimed by a worker
/// that died (SIGKILL, power cut) is handed to another one after
/// `HEARTBEAT * MISSED_HEARTBEATS`, so this bounds how late it goes out.
const HEARTBEAT: Duration = Duration::from_secs(5);
const MISSED_HEARTBEATS: usize = 3;

/// Why the queue refused work.
#[derive(Debug, thiserror::Error)]
#[error("delivery queue: {0}")]
pub struct QueueError(String);

/// Schedules event deliveries.
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Runs the delivery `delivery_id` after `delay`, surviving restarts.
    async fn enqueue(&self, delivery_id: &DeliveryId, delay: Duration) -> Result<(), QueueError>;
}

/// The job: one attempt of one delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub delivery_id: DeliveryId,
}

/// apalis storage for the configured database.
#[derive(Clone)]
pub enum ApalisQueue {
    Sqlite(SqliteStorage<DeliveryJob>),
    Postgres(PostgresStorage<DeliveryJob>),
}

impl ApalisQueue {
    /// Connects to `sqlite://…` or `postgres://…` and creates apalis' tables.
    pub async fn connect(database_url: &str) -> Result<Self, QueueError> {
        let failed = |e: &dyn std::fmt::Display| QueueError(e.to_string());
        if database_url.starts_with("sqlite:") {
            let url = if database_url.contains("mode=") {
                database_url.to_owned()
            } else {
                let sep = if database_url.contains('?') { '&' } else { '?' };
                format!("{database_url}{sep}mode=rwc")
            };
            let pool = apalis_sqlite::SqlitePool::connect(&url)
                .await
                .map_err(|e| failed(&e))?;
            SqliteStorage::setup(&pool).await.map_err(|e| failed(&e))?;
            let config = apalis_sqlite::Config::default()
                .queue(QUEUE)
                .heartbeat_interval(HEARTBEAT)
                .missed_heartbeats(MISSED_HEARTBEATS);
            Ok(Self::Sqlite(SqliteStorage::new(&pool).with_config(config)))
        } else {
            let pool = sqlx::PgPool::connect(database_url)
                .await
                .map_err(|e| failed(&e))?;
            PostgresStorage::setup(&pool)
                .await
                .map_err(|e| failed(&e))?;
            let config = apalis_postgres::Config::default()
                .queue(QUEUE)
                .heartbeat_interval(HEARTBEAT)
                .missed_heartbeats(MISSED_HEARTBEATS);
            Ok(Self::Postgres(
                PostgresStorage::new(&pool).with_config(config),
            ))
        }
    }

    /// Runs the delivery worker until `stop` turns true.
    pub fn start_worker(
        &self,
        services: Services,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        // Each process registers its own worker: apalis refuses a second live
        // worker under one name, and several instances may share PostgreSQL.
        let name = format!("simgate-deliveries-{}", uuid::Uuid::new_v4().simple());
        let signal = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
            Ok::<(), std::io::Error>(())
        };
        match self.clone() {
            Self::Sqlite(storage) => tokio::spawn(async move {
                let worker = WorkerBuilder::new(name.as_str())
                    .backend(storage.poll_with_interval(POLL_EVERY))
                    .data(services)
                    .build(run_delivery);
                if let Err(error) = worker.run_until(signal).await {
                    tracing::error!(%error, "delivery worker stopped");
                }
            }),
            Self::Postgres(storage) => tokio::spawn(async move {
                let worker = WorkerBuilder::new(name.as_str())
                    .backend(storage.poll_with_interval(POLL_EVERY))
                    .data(services)
                    .build(run_delivery);
                if let Err(error) = worker.run_until(signal).await {
                    tracing::error!(%error, "delivery worker stopped");
                }
            }),
        }
    }
}

async fn run_delivery(job: DeliveryJob, services: Data<Services>) -> Result<(), BoxDynError> {
    services
        .deliver(&job.delivery_id)
        .await
        .map_err(|e| Box::new(e) as BoxDynError)
}

/// A task due `delay` from now. apalis keeps whole seconds, and
/// `run_after` rounds down, which could send a retry before the
/// `Retry-After` an endpoint asked for: round up instead.
fn scheduled(job: DeliveryJob, delay: Duration) -> apalis::prelude::Task<DeliveryJob> {
    let task = TaskBuilder::new(job);
    if delay.is_zero() {
        return task.build();
    }
    let due = (SystemTime::now() + delay)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = due.as_secs() + u64::from(due.subsec_nanos() > 0);
    task.run_at_timestamp(seconds).build()
}

#[async_trait]
impl DeliveryQueue for ApalisQueue {
    async fn enqueue(&self, delivery_id: &DeliveryId, delay: Duration) -> Result<(), QueueError> {
        let job = DeliveryJob {
            delivery_id: delivery_id.clone(),
        };
        let failed = |e: &dyn std::fmt::Display| QueueError(e.to_string());
        match self.clone() {
            Self::Sqlite(mut storage) => storage
                .push_task(scheduled(job, delay))
                .await
                .map_err(|e| failed(&e)),
            Self::Postgres(mut storage) => storage
                .push_task(scheduled(job, delay))
                .await
                .map_err(|e| failed(&e)),
        }
    }
}
