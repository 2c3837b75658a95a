//! What the service asks of storage, as small traits by subject (in the
//! spirit of lldap's backend handlers), so that the use cases depend on
//! these and not on the store crate that implements them.
//!
//! Each trait matches one module of the store (`crates/store/src/<subject>.rs`
//! implements it for `Store`); [`Repository`] is all of them at once, what
//! `Services` holds as `Arc<dyn Repository>`. A new storage operation goes
//! into the trait of its subject here and into the `impl` of that trait in
//! the store module of the same name.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::entities::{
    AccountTerms, ConsoleSession, Delivery, DeliveryStatus, DueWebhook, Endpoint, EsimFilter,
    EsimRecord, HourlyOrders, InsertOutcome, Lease, LedgerPurchase, LineActivation, LineRecord,
    LineStatus, ListedEsim, LowBalance, MarginRow, Moved, NewCredit, NewOrder, NewRefund,
    OrderAttempt, OrderFailure, OrderQuery, OrderRecord, Posted, PreviousSecret, ProductFilter,
    ProviderBalance, ProviderSpend, Recorded, RefundOutcome, RepositoryError, SalePrice,
    SealedSecret, SimOrderAnswer, SimOrderInsert, SimOrderRecord, SimOrderState, Statement,
    StoredBalance, StoredEvent, StoredSecret, StoredWebhook, Tenant, TenantAccount, TermsRefused,
    UpstreamAnswer, UpstreamPurchase,
};
use crate::limits::TenantLimits;
use crate::orchestration::{FxRate, PricingRules, RoutingPolicy};
use crate::{
    Account, Hold, Iccid, InstallDetails, Msisdn, OrderId, OrderStatus, Product, ProductId,
    ProviderId, ShippingAddress, SimOrder, TenantId,
};

/// The providers' catalogues as synced, and the search over them.
/// Implemented by the store in `crates/store/src/catalogue.rs`.
#[async_trait]
pub trait CatalogueRepository: Send + Sync {
    /// Replaces a provider's catalogue in one transaction: products it no
    /// longer lists become inactive (orders may still point at them). When
    /// the provider lists one id twice, the first listing wins.
    async fn replace_catalogue(
        &self,
        provider: ProviderId,
        products: &[Product],
        synced_at: DateTime<Utc>,
    ) -> Result<usize, RepositoryError>;

    /// When a provider's catalogue was last synced, and how many products it had.
    async fn last_catalogue_sync(
        &self,
        provider: ProviderId,
    ) -> Result<Option<(DateTime<Utc>, u64)>, RepositoryError>;

    /// Searches active products; returns one page and the total match count.
    async fn search_products(
        &self,
        filter: &ProductFilter,
    ) -> Result<(Vec<Product>, u64), RepositoryError>;

    /// An active product by id.
    async fn product(&self, id: &ProductId) -> Result<Option<Product>, RepositoryError>;

    /// When each provider's catalogue was last replaced and how many
    /// products it had, by provider: one cheap read that changes with every
    /// sync, so that an instance keeping the catalogue in memory learns of
    /// another instance's sync.
    async fn catalogue_version(
        &self,
    ) -> Result<Vec<(ProviderId, DateTime<Utc>, u64)>, RepositoryError>;
}

/// eSIM orders and their eSIMs: written before any upstream call, then moved
/// through the order state machine by compare-and-set on the order's fence
/// (its attempt number), so a stale read never re-sends or reopens anything.
/// Implemented by the store in `crates/store/src/orders.rs`.
#[async_trait]
pub trait OrderRepository: Send + Sync {
    /// Moves an order without a purchase to another of its candidates
    /// (`pending` again, at the candidate's product, cost and `sale` price),
    /// logging the attempts that bought nothing. Only at `fence`, like every
    /// other move: a worker holding a stale read switches nothing. Returns
    /// the new fence, or `None` when someone else moved the order first.
    /// With `hold`, the order's open hold is released and `hold` placed in
    /// the same transaction; when it does not fit, nothing changes and the
    /// answer is [`RepositoryError::InsufficientFunds`].
    async fn switch_candidate(
        &self,
        id: &OrderId,
        fence: i64,
        product: &Product,
        sale: &SalePrice,
        attempts: &[OrderAttempt],
        hold: Option<&Hold>,
    ) -> Result<Option<i64>, RepositoryError>;
    /// Writes a new order in `pending` (or, with `submitted_at`, already
    /// claimed for its first attempt) in one statement, or returns the
    /// tenant's existing order with the same idempotency key. A new order
    /// is returned as written, without reading it back.
    async fn insert_order(&self, order: &NewOrder) -> Result<InsertOutcome, RepositoryError>;

    /// An order by id, whoever owns it (for jobs).
    async fn order_by_id(&self, id: &OrderId) -> Result<Option<OrderRecord>, RepositoryError>;

    /// A tenant's order; another tenant's order is simply not found.
    async fn order_for_tenant(
        &self,
        tenant_id: &str,
        id: &OrderId,
    ) -> Result<Option<OrderRecord>, RepositoryError>;

    /// A tenant's orders, newest first, optionally of one status, strictly
    /// older than the `before` order (ids are time-ordered, so they page).
    async fn orders_for_tenant(
        &self,
        tenant_id: &str,
        status: Option<OrderStatus>,
        before: Option<&OrderId>,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, RepositoryError>;

    /// A page of a tenant's orders matching `query`, newest first, with how
    /// many match across all pages: filtered in the database, so no match
    /// is missed however old it is.
    async fn search_orders(
        &self,
        tenant_id: &str,
        query: &OrderQuery,
    ) -> Result<(Vec<OrderRecord>, u64), RepositoryError>;

    /// A tenant's orders created since `since`, counted and summed per
    /// hour, status and currency: the dashboard's charts and totals.
    async fn hourly_orders(
        &self,
        tenant_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<HourlyOrders>, RepositoryError>;

    /// Claims an order for an upstream call: `pending → submitted`, only if
    /// it is still pending at `fence`. Returns the new attempt's fence, or
    /// `None` when someone else moved the order first.
    async fn claim_for_submission(
        &self,
        id: &OrderId,
        fence: i64,
        at: DateTime<Utc>,
    ) -> Result<Option<i64>, RepositoryError>;

    /// Puts a `submitted` order whose call bought nothing back to `pending`,
    /// or a retryable `failed` one, so it can be submitted again; only at
    /// `fence`, so a stale read can never reopen an order another worker
    /// has just re-sent. Returns the new fence; a lease is kept. A failed
    /// order gave its hold back: with `hold` it holds anew in the same
    /// transaction ([`RepositoryError::InsufficientFunds`] when that does
    /// not fit, and nothing changes); an order whose hold is still open
    /// keeps it.
    async fn reopen_order(
        &self,
        id: &OrderId,
        fence: i64,
        hold: Option<&Hold>,
    ) -> Result<Option<i64>, RepositoryError>;

    /// Records the provider's answer to the attempt at `fence` of `order`
    /// (as the caller read it: its provider is the one that answered): the
    /// upstream reference, status and any delivered eSIMs, in one
    /// transaction with the purchase ledger and, when the order became
    /// final, its event and deliveries. An answer is never dropped (see
    /// [`Recorded`]), and one purchase is never linked to two orders.
    async fn record_upstream_order(
        &self,
        order: &OrderRecord,
        fence: i64,
        upstream_ref: &str,
        provider_status: &str,
        status: OrderStatus,
        esims: &[InstallDetails],
    ) -> Result<Recorded, RepositoryError>;

    /// Takes a provider order found by listing the provider's orders and
    /// matching their content (for providers that keep no reference of
    /// ours) as the purchase of the attempt at `fence` — only while that
    /// attempt is current and the order has no purchase. Unlike an answer
    /// to our own call, a match that comes too late is dropped
    /// ([`Recorded::NotTaken`]): it may be the purchase of another order
    /// of the same content whose own answer was lost. Recorded like
    /// [`Self::record_upstream_order`], event included.
    async fn adopt_matched_order(
        &self,
        order: &OrderRecord,
        fence: i64,
        answer: &UpstreamAnswer<'_>,
    ) -> Result<Recorded, RepositoryError>;

    /// Marks the attempt at `fence` failed (the provider certainly did
    /// nothing), if the order is still pending or submitted without a
    /// purchase: the failed order and its `order.failed` event, recorded in
    /// the same transaction; `None` when another move came first.
    async fn fail_order(
        &self,
        id: &OrderId,
        fence: i64,
        failure: &OrderFailure,
    ) -> Result<Option<Moved>, RepositoryError>;

    /// Takes, under `lease`, up to `limit` orders whose outcome a reconciler
    /// must find out: submitted without an answer before `submitted_before`,
    /// or pending (never sent, or reopened and left) since before
    /// `idle_before`. One statement, so two reconcilers get disjoint sets;
    /// each returned order carries its new fence.
    async fn claim_orders_to_reconcile(
        &self,
        lease: &Lease,
        submitted_before: DateTime<Utc>,
        idle_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, RepositoryError>;

    /// Takes, under `lease`, up to `limit` orders the provider is still
    /// fulfilling, least recently changed first, to poll them.
    async fn claim_orders_fulfilling(
        &self,
        lease: &Lease,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, RepositoryError>;

    /// Gives a leased order back before its lease ends, if nobody moved it
    /// since `fence` (every move already ends the lease).
    async fn release_order(&self, id: &OrderId, fence: i64) -> Result<(), RepositoryError>;

    /// Orders the provider accepted and is still fulfilling, least recently
    /// checked first.
    async fn orders_fulfilling(
        &self,
        provider: Option<ProviderId>,
    ) -> Result<Vec<OrderRecord>, RepositoryError>;

    /// A tenant's eSIM with its install details.
    async fn esim_for_tenant(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
    ) -> Result<Option<EsimRecord>, RepositoryError>;

    /// A page of a tenant's eSIMs matching `filter`, newest first, with
    /// how many match across all pages.
    async fn esims_for_tenant(
        &self,
        tenant_id: &str,
        filter: &EsimFilter,
    ) -> Result<(Vec<ListedEsim>, u64), RepositoryError>;
}

/// Physical SIM orders and the shipping addresses they go to, fenced like
/// eSIM orders.
/// Implemented by the store in `crates/store/src/sim_orders.rs`.
#[async_trait]
pub trait SimOrderRepository: Send + Sync {
    /// Remembers an address a tenant created at a provider.
    async fn insert_address(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        address: &ShippingAddress,
    ) -> Result<String, RepositoryError>;

    /// Whether the provider's address belongs to the tenant.
    async fn owns_address(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        upstream_id: &str,
    ) -> Result<bool, RepositoryError>;

    /// Writes a SIM order down before the provider is called, or returns the
    /// order an earlier request with the same idempotency key made.
    async fn insert_sim_order(
        &self,
        order: &SimOrderInsert,
    ) -> Result<InsertOutcome<SimOrderRecord>, RepositoryError>;

    /// One SIM order by simgate's id.
    async fn sim_order(&self, id: &str) -> Result<Option<SimOrderRecord>, RepositoryError>;

    /// The tenant's SIM order made with this idempotency key, if any.
    async fn sim_order_with_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<SimOrderRecord>, RepositoryError>;

    /// Records the provider's answer to the creation attempt at `fence` (or
    /// the order a recovery found for it), with the purchase ledger, in one
    /// transaction. Never drops an answer (see [`SimOrderAnswer`]).
    async fn record_sim_order_answer(
        &self,
        id: &str,
        fence: i64,
        upstream: &SimOrder,
    ) -> Result<SimOrderAnswer, RepositoryError>;

    /// Takes a provider order found by listing and matching (same address,
    /// quantity and time) as the purchase of the attempt at `fence`, only
    /// while that attempt is current and the order has none. A late match
    /// is dropped ([`SimOrderAnswer::NotTaken`]), never kept as an extra:
    /// it may be the purchase of another order of the same content.
    async fn adopt_matched_sim_order(
        &self,
        id: &str,
        fence: i64,
        upstream: &SimOrder,
    ) -> Result<SimOrderAnswer, RepositoryError>;

    /// Records news of an order's purchase (polled from the provider);
    /// returns the previous state so the caller can announce a change
    /// exactly when there was one. Only for the purchase the order has.
    async fn record_sim_order(
        &self,
        id: &str,
        upstream: &SimOrder,
    ) -> Result<SimOrderState, RepositoryError>;

    /// Marks an order that was never created upstream as failed, if nobody
    /// moved it since `fence`.
    async fn fail_sim_order(
        &self,
        id: &str,
        fence: i64,
        why: &str,
    ) -> Result<bool, RepositoryError>;

    /// Gives a leased SIM order back, if nobody moved it since `fence`.
    async fn release_sim_order(&self, id: &str, fence: i64) -> Result<(), RepositoryError>;

    /// Leaves a note on an order still waiting for its outcome, and moves it
    /// to the back of the follow-up queue.
    async fn touch_sim_order(&self, id: &str) -> Result<(), RepositoryError>;

    /// A page of a tenant's SIM orders, newest first, optionally of one status.
    async fn sim_orders_for_tenant(
        &self,
        tenant_id: &str,
        status: Option<&str>,
        page: u32,
        size: u32,
    ) -> Result<(Vec<SimOrderRecord>, u64), RepositoryError>;

    /// Takes, under `lease`, up to `limit` orders that can still change,
    /// least recently checked first: linked ones to poll, and ones whose
    /// creation answer is unknown since before `created_before`. One
    /// statement, so two instances get disjoint sets; fences are bumped.
    async fn claim_sim_orders_to_follow(
        &self,
        lease: &Lease,
        created_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SimOrderRecord>, RepositoryError>;
}

/// Which tenant holds which subscriber line: the claim written before
/// provisioning, which keeps tenants apart and makes provisioning recoverable.
/// Implemented by the store in `crates/store/src/lines.rs`.
#[async_trait]
pub trait LineRepository: Send + Sync {
    /// Claims a number for a tenant before provisioning it. `None` when the
    /// number is already someone's line (ceased lines free their number).
    async fn claim_line(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        mpn: &Msisdn,
    ) -> Result<Option<LineRecord>, RepositoryError>;

    /// A line by number, whoever owns it.
    async fn line(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
    ) -> Result<Option<LineRecord>, RepositoryError>;

    /// Sets a line's status (and its ICCID once known).
    async fn set_line_status(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        status: LineStatus,
        iccid: Option<&Iccid>,
    ) -> Result<(), RepositoryError>;

    /// Moves a line to its new primary number.
    async fn renumber_line(
        &self,
        provider: ProviderId,
        from: &Msisdn,
        to: &Msisdn,
    ) -> Result<(), RepositoryError>;

    /// Forgets the claim at `fence`, whose provisioning certainly did not
    /// happen; a claim moved on since is left alone.
    async fn release_line(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
    ) -> Result<bool, RepositoryError>;

    /// Records that the provider provisioned the tenant's number, for the
    /// attempt at `fence`. Never drops the answer (see [`LineActivation`]).
    async fn activate_line(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
        iccid: Option<&Iccid>,
    ) -> Result<LineActivation, RepositoryError>;

    /// Takes, under `lease`, up to `limit` lines whose provisioning answer
    /// is unknown since before `updated_before`, oldest first. One
    /// statement, so two instances get disjoint sets; fences are bumped.
    async fn claim_lines_to_settle(
        &self,
        lease: &Lease,
        updated_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LineRecord>, RepositoryError>;

    /// Gives a leased line back, if nobody moved it since `fence`.
    async fn release_line_lease(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
    ) -> Result<(), RepositoryError>;

    /// A tenant's lines, newest first.
    async fn lines_for_tenant(&self, tenant_id: &str) -> Result<Vec<LineRecord>, RepositoryError>;

    /// Every line a tenant holds at a provider (provisioning or active, not
    /// ceased), unbounded: what the provider account's inventory is
    /// filtered by, so a tenant sees only what sits behind its own lines.
    async fn lines_held_by(
        &self,
        tenant_id: &str,
        provider: ProviderId,
    ) -> Result<Vec<LineRecord>, RepositoryError>;
}

/// Tenants and their API keys (kept hashed).
/// Implemented by the store in `crates/store/src/tenants.rs`.
#[async_trait]
pub trait TenantRepository: Send + Sync {
    /// Creates a tenant; a name already used is [`RepositoryError::Taken`].
    async fn create_tenant(&self, id: &str, name: &str) -> Result<Tenant, RepositoryError>;

    /// A tenant by id.
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, RepositoryError>;

    /// Every tenant, oldest first, with its key prefixes.
    async fn tenant_accounts(&self) -> Result<Vec<TenantAccount>, RepositoryError>;

    /// One tenant by id, with its key prefixes.
    async fn tenant_account(&self, id: &str) -> Result<Option<TenantAccount>, RepositoryError>;

    /// Stores an API key (hashed) for a tenant. Adding the same key twice is a no-op.
    async fn add_api_key(&self, tenant_id: &str, key: &str) -> Result<(), RepositoryError>;

    /// Replaces every key of a tenant by `key`, in one transaction: from the
    /// commit on, lookups here refuse the old keys (instances that cache
    /// lookups see it within their cache's TTL), and the tenant's console
    /// sessions are ended. `false` when there is no such tenant.
    async fn replace_api_keys(&self, tenant_id: &str, key: &str) -> Result<bool, RepositoryError>;

    /// Disables a tenant: its keys are refused and its console sessions
    /// ended from now on. Disabling a disabled tenant keeps its first
    /// disabling time. `false` when there
    /// is no such tenant.
    async fn disable_tenant(&self, id: &str, at: DateTime<Utc>) -> Result<bool, RepositoryError>;

    /// The enabled tenant an API key belongs to, if any.
    async fn tenant_by_api_key(&self, key: &str) -> Result<Option<Tenant>, RepositoryError>;

    /// The operator's overrides of a tenant's budgets, or `None` when it
    /// has set none.
    async fn tenant_limits(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<TenantLimits>, RepositoryError>;

    /// Replaces a tenant's (already validated) budget overrides.
    async fn put_tenant_limits(
        &self,
        tenant: &TenantId,
        limits: &TenantLimits,
    ) -> Result<(), RepositoryError>;
}

/// Outbound events, the tenants' webhook endpoints and each delivery's attempts.
/// Implemented by the store in `crates/store/src/events.rs`.
#[async_trait]
pub trait EventRepository: Send + Sync {
    /// Registers an endpoint for a tenant with its sealed secret, unless
    /// the tenant already has `max_enabled` enabled endpoints (`None`).
    /// The count and the insert are one step for the tenant, so concurrent
    /// registrations on several instances cannot pass the cap.
    async fn create_endpoint(
        &self,
        tenant_id: &str,
        url: &str,
        secret: &SealedSecret,
        max_enabled: u32,
    ) -> Result<Option<Endpoint>, RepositoryError>;

    /// Replaces an endpoint's secrets if its current one is still
    /// `expected` (a compare-and-set, so a rotation or re-sealing that read
    /// an older row never undoes another's); `false` when it was not.
    async fn replace_endpoint_secrets(
        &self,
        id: &str,
        expected: &StoredSecret,
        secret: &SealedSecret,
        previous: Option<&PreviousSecret>,
    ) -> Result<bool, RepositoryError>;

    /// Every endpoint with a secret not sealed under `key_id` (plain text
    /// from older versions included); `None`: every endpoint.
    async fn endpoints_not_sealed_under(
        &self,
        key_id: Option<&str>,
    ) -> Result<Vec<Endpoint>, RepositoryError>;

    /// An endpoint by id.
    async fn endpoint(&self, id: &str) -> Result<Option<Endpoint>, RepositoryError>;

    /// A tenant's endpoints, oldest first.
    async fn endpoints_for_tenant(&self, tenant_id: &str)
    -> Result<Vec<Endpoint>, RepositoryError>;

    /// Disables an endpoint (410 Gone, or removed by its tenant).
    async fn disable_endpoint(&self, id: &str, reason: &str) -> Result<bool, RepositoryError>;

    /// Records an event once per `dedupe_key`, with a pending delivery to
    /// each of the tenant's enabled endpoints; `order_id` names the order
    /// it is about, if any, so [`Self::events_for_order`] finds it. Returns
    /// the new deliveries' ids, or `None` when the event was already recorded.
    async fn record_event(
        &self,
        tenant_id: &str,
        event_type: &str,
        dedupe_key: &str,
        order_id: Option<&OrderId>,
        payload: &str,
    ) -> Result<Option<(String, Vec<String>)>, RepositoryError>;

    /// New pending deliveries of an existing event to every enabled
    /// endpoint, counted as one replay of it; `None` when the event was
    /// replayed `max_replays` times already. The count is a compare-and-set
    /// on the event's row, so instances together cannot pass it.
    async fn redeliver_event(
        &self,
        event: &StoredEvent,
        max_replays: u32,
    ) -> Result<Option<Vec<String>>, RepositoryError>;

    /// A tenant's event.
    async fn event_for_tenant(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<StoredEvent>, RepositoryError>;

    /// A tenant's events, newest first, older than `before` when given.
    async fn events_for_tenant(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, RepositoryError>;

    /// A tenant's events about one order, oldest first (another tenant's
    /// order has none): the order's history, however many events came after.
    async fn events_for_order(
        &self,
        tenant_id: &str,
        order_id: &OrderId,
    ) -> Result<Vec<StoredEvent>, RepositoryError>;

    /// The deliveries of an event.
    async fn deliveries_of(&self, event_id: &str) -> Result<Vec<Delivery>, RepositoryError>;

    /// A delivery with its event and endpoint, for the delivery job.
    async fn delivery(
        &self,
        id: &str,
    ) -> Result<Option<(Delivery, StoredEvent, Endpoint)>, RepositoryError>;

    /// Records the outcome of one attempt; `retry_at` is when a delivery
    /// left pending is due again (its retry's time).
    async fn record_attempt(
        &self,
        id: &str,
        status: DeliveryStatus,
        response: Option<u16>,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError>;

    /// Takes up to `limit` pending deliveries due before `overdue_before`,
    /// which no queued job can still be waiting to send, and marks them due
    /// at `due_again` (compare-and-set on their due time, so that one
    /// sweeper of several takes each). The caller queues them again.
    async fn take_overdue_deliveries(
        &self,
        overdue_before: DateTime<Utc>,
        due_again: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, RepositoryError>;

    /// How many deliveries are still pending (not yet delivered, failed or
    /// disabled), across every tenant: the outbound webhook backlog.
    async fn pending_deliveries(&self) -> Result<u64, RepositoryError>;
}

/// Inbound provider webhooks: stored once per dedupe key, then applied to
/// the order or eSIM they name.
/// Implemented by the store in `crates/store/src/webhooks.rs`.
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Stores a verified webhook's raw body under the provider's dedupe key,
    /// due for the inbox at `retry_at` unless the receiving request applies
    /// it first; or finds the row of the same delivery stored before.
    async fn store_webhook(
        &self,
        provider: ProviderId,
        dedupe_key: &str,
        body: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<StoredWebhook, RepositoryError>;

    /// Records what applying a stored webhook did: it is done.
    async fn finish_webhook(&self, id: &str, outcome: &str) -> Result<(), RepositoryError>;

    /// Records a failed attempt to apply a stored webhook, tried again at
    /// `retry_at`.
    async fn postpone_webhook(
        &self,
        id: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;

    /// Takes up to `limit` stored webhooks not yet applied whose attempt is
    /// due at `now`, moving their next attempt to `lease_until` (a
    /// compare-and-set, so that one inbox pass of several takes each).
    async fn take_due_webhooks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueWebhook>, RepositoryError>;

    /// The order a provider knows by `reference`: linked by its upstream
    /// reference, or (for providers that keep our id) by our own id.
    async fn order_for_provider_reference(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Option<OrderRecord>, RepositoryError>;

    /// The tenant owning a provider's eSIM, if simgate issued it.
    async fn esim_tenant(
        &self,
        provider: ProviderId,
        iccid: &Iccid,
    ) -> Result<Option<String>, RepositoryError>;

    /// Adds one delivered eSIM to an order the provider accepted. The order
    /// completes when it has as many eSIMs as it has units; delivering the
    /// same eSIM twice changes nothing.
    async fn deliver_esim(
        &self,
        order: &OrderRecord,
        reference: &str,
        esim: &InstallDetails,
    ) -> Result<Moved, RepositoryError>;
}

/// The purchase ledger: every upstream purchase once, linked to its row or
/// kept as an extra purchase for an operator to refund.
/// Implemented by the store in `crates/store/src/purchases.rs`.
#[async_trait]
pub trait PurchaseRepository: Send + Sync {
    /// Every purchase in the ledger, optionally only the linked ones or only
    /// the extra ones (to refund), oldest first.
    async fn upstream_purchases(
        &self,
        linked: Option<bool>,
    ) -> Result<Vec<UpstreamPurchase>, RepositoryError>;

    /// Whether a provider's purchase already belongs to a local row (as its
    /// purchase or as an extra one): such a purchase is never adopted again.
    async fn purchase_taken(
        &self,
        provider: ProviderId,
        upstream_ref: &str,
    ) -> Result<bool, RepositoryError>;

    /// Keeps a purchase `provider` made for `order` after the order had
    /// moved on to another provider (a webhook from the first, arriving
    /// after a failover) as an extra purchase of it, for an operator to
    /// refund; false when the ledger had it already.
    async fn record_late_purchase(
        &self,
        provider: ProviderId,
        upstream_ref: &str,
        order: &OrderRecord,
        detail: &str,
    ) -> Result<bool, RepositoryError>;
}

/// Tenant accounts and their append-only ledger: holds placed, captured
/// and released with the orders' own moves (in the order repository's
/// transactions), credits, refunds, statements and the margin report.
/// Implemented by the store in `crates/store/src/accounts.rs`.
#[async_trait]
pub trait AccountRepository: Send + Sync {
    /// A tenant's account; the default one when it was never configured.
    async fn account(&self, tenant_id: &str) -> Result<Account, RepositoryError>;

    /// Sets the terms of a tenant's account, keeping its balance.
    async fn put_account_terms(
        &self,
        tenant_id: &str,
        terms: &AccountTerms,
    ) -> Result<Result<Account, TermsRefused>, RepositoryError>;

    /// Funds or corrects an account, once per reference.
    async fn post_credit(
        &self,
        tenant_id: &str,
        credit: &NewCredit,
    ) -> Result<Posted, RepositoryError>;

    /// Sets (or clears) the tenant's `balance.low` threshold, in millionths
    /// of the account's currency.
    async fn set_low_threshold(
        &self,
        tenant_id: &str,
        micros: Option<i64>,
    ) -> Result<Account, RepositoryError>;

    /// The account's entries in `[from, to)`, oldest first, with the
    /// balance and held amount before and after.
    async fn statement(
        &self,
        tenant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Statement, RepositoryError>;

    /// The sums of the account's whole journal: (balance, held). Equal to
    /// the account's projection unless something wrote around the ledger.
    async fn ledger_totals(&self, tenant_id: &str) -> Result<(i64, i64), RepositoryError>;

    /// How many of the tenant's orders and SIM orders hold money while
    /// settled (none should: a hold is captured or released with the move
    /// that settles its row).
    async fn open_holds_on_final_orders(&self, tenant_id: &str) -> Result<u64, RepositoryError>;

    /// Records a refund of (part of) a completed sale once, crediting the
    /// tenant when `refund.credit_tenant`, and moves the order to
    /// `refunded` with its event when no unit is left.
    async fn record_refund(&self, refund: &NewRefund) -> Result<RefundOutcome, RepositoryError>;

    /// Orders a provider reported refunded whose refund is not recorded
    /// yet (a crash came between the two), oldest first.
    async fn refunded_orders_to_settle(
        &self,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, RepositoryError>;

    /// The order that sold `bundle` on the tenant's eSIM: the newest
    /// completed order of that SKU linked to the eSIM.
    async fn order_for_bundle(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        sku: &str,
    ) -> Result<Option<OrderRecord>, RepositoryError>;

    /// Revenue, cost and margin of the sales completed in `[from, to)`, by
    /// tenant, provider and currencies; one tenant's only with `tenant_id`.
    async fn margin_report(
        &self,
        tenant_id: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<MarginRow>, RepositoryError>;

    /// Marks every account whose available amount is below its threshold
    /// and not yet told, recording its `balance.low` event in the same
    /// transaction; clears the mark of accounts back above it. One
    /// instance wins each mark, so each crossing is told once.
    async fn claim_low_balances(&self) -> Result<Vec<LowBalance>, RepositoryError>;
}

/// Provider balances and the spend the purchase ledger shows per provider.
/// Implemented by the store in `crates/store/src/balances.rs`.
#[async_trait]
pub trait BalanceRepository: Send + Sync {
    /// Stores a balance read unless a newer one is stored, and moves the
    /// low-balance state in the same statement: below the threshold keeps
    /// the read that first went below (or makes this one it), above clears it.
    async fn put_balance(
        &self,
        balance: &ProviderBalance,
        below_threshold: bool,
    ) -> Result<StoredBalance, RepositoryError>;

    /// Every stored balance.
    async fn balances(&self) -> Result<Vec<ProviderBalance>, RepositoryError>;

    /// What the ledger says was bought from `provider`, per currency of the
    /// orders' frozen cost, in total and after `since`.
    async fn provider_spend(
        &self,
        provider: ProviderId,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<ProviderSpend>, RepositoryError>;

    /// The ledger's purchases from `provider` recorded in `[from, to)`,
    /// oldest first.
    async fn ledger_between(
        &self,
        provider: ProviderId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LedgerPurchase>, RepositoryError>;
}

/// Whether storage answers at all, for `/healthz` and `/readyz`.
/// Implemented by the store in `crates/store/src/lib.rs`.
#[async_trait]
pub trait HealthRepository: Send + Sync {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), RepositoryError>;
}

/// The operator's FX rates and each tenant's pricing rules.
/// Implemented by the store in `crates/store/src/pricing.rs`.
#[async_trait]
pub trait PricingRepository: Send + Sync {
    /// The FX table's change counter: equal counters mean equal tables, so
    /// an instance checks it instead of re-reading every rate.
    async fn fx_version(&self) -> Result<i64, RepositoryError>;
    /// Every stored rate and the version they belong to, read in one
    /// transaction so the pair is consistent.
    async fn fx_rates(&self) -> Result<(i64, Vec<FxRate>), RepositoryError>;
    /// Stores `rates` (already validated), replacing the rate of each pair
    /// and of its inverse; with `replace_all`, every other rate goes too.
    /// Bumps the version so other instances reload.
    async fn put_fx_rates(
        &self,
        rates: &[FxRate],
        replace_all: bool,
    ) -> Result<(), RepositoryError>;
    /// A tenant's pricing rules, or `None` when it has set none.
    async fn pricing_rules(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<PricingRules>, RepositoryError>;
    /// Replaces a tenant's (already validated) pricing rules.
    async fn put_pricing_rules(
        &self,
        tenant: &TenantId,
        rules: &PricingRules,
    ) -> Result<(), RepositoryError>;
}

/// Each tenant's routing policy.
/// Implemented by the store in `crates/store/src/routing.rs`.
#[async_trait]
pub trait RoutingRepository: Send + Sync {
    /// A tenant's routing policy, or `None` when it has set none (it then
    /// routes by the default policy).
    async fn routing_policy(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<RoutingPolicy>, RepositoryError>;
    /// Replaces a tenant's (already validated) routing policy.
    async fn put_routing_policy(
        &self,
        tenant: &TenantId,
        policy: &RoutingPolicy,
    ) -> Result<(), RepositoryError>;
}

/// Console sign-in sessions, keyed by the hash of their token.
/// Implemented by the store in `crates/store/src/sessions.rs`.
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session; sessions expired before `now` are purged on
    /// the way, so the table holds live sessions only.
    async fn insert_session(
        &self,
        session: &ConsoleSession,
        now: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;
    /// The session with this token hash, unless it expired before `now`
    /// or its credential was revoked: a tenant session needs its tenant
    /// enabled and its key still the tenant's; an operator session needs
    /// `operator_credential` (the running operator key's fingerprint, `None`
    /// without one) to be the one it was opened with.
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        operator_credential: Option<&str>,
    ) -> Result<Option<ConsoleSession>, RepositoryError>;
    /// Points a session at another tenant (the operator switching).
    async fn set_session_tenant(
        &self,
        token_hash: &str,
        tenant_id: &str,
    ) -> Result<(), RepositoryError>;
    /// Ends a session (sign-out); ending an unknown one is not an error.
    async fn delete_session(&self, token_hash: &str) -> Result<(), RepositoryError>;
}

/// An applied inbound webhook whose body is still the one received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnredactedWebhook {
    pub id: String,
    pub body: String,
}

/// Retention: what the purge job deletes or redacts, each call one bounded
/// statement (at most `batch` rows) so that no pass holds a long lock.
/// Each returns how many rows it changed; fewer than `batch` means none
/// are left. Implemented by the store in `crates/store/src/retention.rs`.
#[async_trait]
pub trait RetentionRepository: Send + Sync {
    /// Deletes finished deliveries (never a pending one) last touched
    /// before `before`.
    async fn purge_deliveries(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError>;
    /// Deletes events created before `before` that have no pending
    /// delivery, with their finished deliveries; returns events deleted.
    async fn purge_events(&self, before: DateTime<Utc>, batch: u32)
    -> Result<u64, RepositoryError>;
    /// Deletes console sessions that expired before `before`.
    async fn purge_expired_sessions(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError>;
    /// Clears the idempotency key of finished orders and SIM orders
    /// created before `before` (the orders stay): a later request with the
    /// same key is a new order. Returns the larger of the two tables'
    /// counts, so that a full batch in either says more may be left.
    async fn clear_idempotency_keys(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError>;
    /// Up to `batch` applied inbound webhooks not redacted yet.
    async fn unredacted_webhooks(
        &self,
        batch: u32,
    ) -> Result<Vec<UnredactedWebhook>, RepositoryError>;
    /// Replaces an applied webhook's body by its redacted `body`; `false`
    /// when it is not (or no longer) an applied, unredacted row.
    async fn redact_webhook(&self, id: &str, body: &str) -> Result<bool, RepositoryError>;
    /// Deletes processed inbound webhooks received before `before` (never
    /// one still being applied).
    async fn purge_inbound_webhooks(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError>;
}

/// Every repository at once: what the use cases hold, as
/// `Arc<dyn Repository>`. Implemented for any type implementing each trait,
/// so a backend only implements the subject traits.
pub trait Repository:
    BalanceRepository
    + CatalogueRepository
    + OrderRepository
    + SimOrderRepository
    + LineRepository
    + TenantRepository
    + EventRepository
    + WebhookRepository
    + PurchaseRepository
    + HealthRepository
    + PricingRepository
    + RoutingRepository
    + SessionRepository
    + RetentionRepository
    + AccountRepository
    + Send
    + Sync
{
}

impl<T> Repository for T where
    T: BalanceRepository
        + CatalogueRepository
        + OrderRepository
        + SimOrderRepository
        + LineRepository
        + TenantRepository
        + EventRepository
        + WebhookRepository
        + PurchaseRepository
        + HealthRepository
        + PricingRepository
        + RoutingRepository
        + SessionRepository
        + RetentionRepository
        + AccountRepository
        + Send
        + Sync
{
}
