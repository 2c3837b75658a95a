//! simgate's persistence: one schema and one set of queries for SQLite (the
//! embedded default) and PostgreSQL (for several instances sharing work).
//!
//! # Fenced claims
//!
//! Every upstream submission (an order, a SIM order, a line) is an attempt
//! numbered by the row's `fence`. Whoever moves the row names the fence it
//! read, and the update is a compare-and-set on it that also bumps it:
//! claiming, reopening, recording an answer and failing. A process holding
//! a stale read therefore cannot reopen or re-send anything.
//!
//! Reconcilers take their work in one statement that leases rows
//! ([`Lease`]): on PostgreSQL `UPDATE … WHERE id IN (SELECT … FOR UPDATE
//! SKIP LOCKED LIMIT n) RETURNING …`, on SQLite the same `UPDATE` (SQLite
//! runs one writer at a time). Leasing bumps the fence too, so a reconciler
//! whose lease ran out is fenced off by the one that took the rows over.
//!
//! An answer that arrives for a superseded attempt is never dropped: it
//! becomes the row's purchase when the row has none yet, otherwise it is
//! kept in `upstream_purchases` as an extra purchase of that row, for an
//! operator to refund. That table holds every purchase once (its key is the
//! provider's reference), so no purchase is ever linked to two rows.
//!
//! Queries use sqlx's `Any` driver with `$N` placeholders, which both
//! back-ends accept, so that PostgreSQL is a connection string away rather
//! than a rewrite. Values the `Any` driver cannot carry portably are stored
//! as plain integers: times as Unix milliseconds, money as millionths.

mod accounts;
mod balances;
mod catalogue;
mod error;
mod events;
mod lines;
mod orders;
mod pricing;
mod purchases;
mod retention;
mod routing;
mod sessions;
mod sim_orders;
mod tenant_documents;
mod tenants;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use simgate_domain::entities::RepositoryError;
use simgate_domain::repository::HealthRepository;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlSafeStr};

pub use error::StoreError;
pub use simgate_domain::entities::{
    Delivery, DeliveryStatus, Endpoint, EsimRecord, InsertOutcome, Lease, LineActivation,
    LineRecord, LineStatus, NewOrder, OrderAttempt, OrderFailure, OrderRecord, ProductFilter,
    ProductSort, Recorded, RecordedEvent, SimOrderAnswer, SimOrderInsert, SimOrderRecord,
    SimOrderState, StoredEvent, StoredWebhook, Tenant, TenantAccount, UpstreamAnswer,
    UpstreamPurchase,
};
pub use tenants::hash_api_key;

/// The schema migrations, embedded so that the binary needs no files beside it.
fn migrator() -> Migrator {
    let migrations = [
        (1, "init", include_str!("../migrations/0001_init.sql")),
        (
            2,
            "inbound webhooks",
            include_str!("../migrations/0002_inbound_webhooks.sql"),
        ),
        (
            3,
            "outbound events",
            include_str!("../migrations/0003_outbound_events.sql"),
        ),
        (
            4,
            "sim orders and lines",
            include_str!("../migrations/0004_sim_orders_and_lines.sql"),
        ),
        (
            5,
            "fenced claims",
            include_str!("../migrations/0005_fenced_claims.sql"),
        ),
        (
            6,
            "tenant admin",
            include_str!("../migrations/0006_tenant_admin.sql"),
        ),
        (
            7,
            "fx and pricing",
            include_str!("../migrations/0007_fx_and_pricing.sql"),
        ),
        (
            8,
            "offer failover",
            include_str!("../migrations/0008_offer_failover.sql"),
        ),
        (
            9,
            "routing and sale price",
            include_str!("../migrations/0009_routing_and_sale_price.sql"),
        ),
        (
            10,
            "console sessions",
            include_str!("../migrations/0010_console_sessions.sql"),
        ),
        (
            11,
            "order search and order events",
            include_str!("../migrations/0011_order_search_and_order_events.sql"),
        ),
        (
            12,
            "accounts and ledger",
            include_str!("../migrations/0012_accounts_and_ledger.sql"),
        ),
        (
            17,
            "sealed endpoint secrets",
            include_str!("../migrations/0017_sealed_endpoint_secrets.sql"),
        ),
        (
            18,
            "provider balances",
            include_str!("../migrations/0018_provider_balances.sql"),
        ),
        (
            19,
            "reconcile backoff",
            include_str!("../migrations/0019_reconcile_backoff.sql"),
        ),
        (
            20,
            "delivery due",
            include_str!("../migrations/0020_delivery_due.sql"),
        ),
        (
            21,
            "tenant limits",
            include_str!("../migrations/0021_tenant_limits.sql"),
        ),
        (
            22,
            "session credentials",
            include_str!("../migrations/0022_session_credentials.sql"),
        ),
        (
            23,
            "retention",
            include_str!("../migrations/0023_retention.sql"),
        ),
        (
            24,
            "webhook inbox",
            include_str!("../migrations/0024_webhook_inbox.sql"),
        ),
        (
            25,
            "sim order holds",
            include_str!("../migrations/0025_sim_order_holds.sql"),
        ),
    ];
    let mut migrator = Migrator::with_migrations(
        migrations
            .into_iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    version,
                    name.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    // The job library keeps its own migrations in sqlx's default table, in
    // the same database: ours live apart so neither sees the other's.
    migrator.dangerous_set_table_name("simgate_migrations");
    migrator
}

/// Which database a store runs on: connection settings differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Reads, and on PostgreSQL writes too.
    pool: AnyPool,
    /// Writes: on SQLite a pool of one connection, so that this process's
    /// writers queue for it and are woken in turn, instead of each taking
    /// SQLite's one write lock by polling it from the busy handler (which
    /// sleeps 1, 2, 5 … ms between tries). Other processes sharing the file
    /// still meet the busy handler. On PostgreSQL the same pool as reads.
    writer: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `sqlite://path` (created if missing) or `postgres://…`,
    /// and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_of = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
                                .await?;
                        }
                        Ok(())
                    })
                })
        };
        let (pool, writer) = match backend {
            // An in-memory database exists per connection: one pool only.
            Backend::Sqlite if url.contains(":memory:") || url.contains("mode=memory") => {
                let pool = pool_of(1).connect_with(options).await?;
                (pool.clone(), pool)
            }
            Backend::Sqlite => {
                let writer = pool_of(1).connect_with(options.clone()).await?;
                (pool_of(4).connect_with(options).await?, writer)
            }
            Backend::Postgres => {
                let pool = pool_of(10).connect_with(options).await?;
                (pool.clone(), pool)
            }
        };
        migrator().run(&writer).await?;
        Ok(Self {
            pool,
            writer,
            backend,
        })
    }

    /// Where a write goes (on SQLite, the one writer connection; see the
    /// `writer` field for why).
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Closes every connection, e.g. before a restart in tests.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl HealthRepository for Store {
    async fn ping(&self) -> Result<(), RepositoryError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }
}

/// A new row id: a type prefix, then a time-ordered UUID, so ids sort by
/// creation and say what they name (`ord_…`, `evt_…`).
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Unix milliseconds of a time.
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A time from Unix milliseconds.
pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
