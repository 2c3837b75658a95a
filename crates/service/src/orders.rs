//! The durable order flow.
//!
//! 1. The order is written down (`pending`) before anything is sent.
//! 2. It is claimed (`pending → submitted`) by a compare-and-set on its
//!    fence (attempt number), so only one worker ever calls the provider
//!    for it at a time, and a worker holding a stale read moves nothing.
//! 3. The provider's answer is recorded. If the answer is lost (timeout,
//!    crash, garbled body) the order stays `submitted` with no upstream
//!    reference, and [`Services::reconcile_orders`] later leases it (one
//!    instance at a time) and recovers it the one way its provider declares
//!    ([`ReconcileStrategy`]): by our reference, by listing and matching the
//!    provider's orders, or by placing it again where that is idempotent. A
//!    match is adopted, and only when there is none is the order submitted
//!    again under a new fence. An answer for a superseded attempt is still
//!    recorded: as the purchase, or as an extra purchase to refund.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use sha2::{Digest, Sha256};
use simgate_connectors::{Connector, ConnectorError, PlaceOrder, PlacedOrder, ReconcileStrategy};
use simgate_domain::entities::{
    AttemptResult, InsertOutcome, Moved, NewOrder, OrderAttempt, OrderFailure, OrderRecord,
    Recorded, UpstreamAnswer,
};
use simgate_domain::orchestration::{Admission, OfferId};
use simgate_domain::{
    Capability, OrderId, OrderKind, OrderStatus, ProductId, ProviderId, TenantId,
};

use crate::{ServiceError, Services};

/// How far back before our own submission time upstream orders are
/// considered, to absorb clock skew between us and the provider.
const CLOCK_SKEW: ChronoDuration = ChronoDuration::minutes(5);

/// Most orders one reconcile pass leases.
const RECONCILE_BATCH: u32 = 100;

/// How often [`Services::wait_for_final`] looks at the order again.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// The attempt code and failure code of a provider skipped because its
/// known balance cannot cover the order.
const BALANCE_LOW: &str = "provider_balance_low";

/// What `quantity` units at `unit` cost (saturating: a cost too large to
/// compute is one no balance covers).
fn cost_of(unit: simgate_domain::Money, quantity: u32) -> simgate_domain::Money {
    simgate_domain::Money {
        amount: unit
            .amount
            .checked_mul(quantity.into())
            .unwrap_or(rust_decimal::Decimal::MAX),
        currency: unit.currency,
    }
}

/// What a tenant orders: one provider's product (pinned), or an offer
/// whose provider simgate chooses and fails over between.
#[derive(Debug, Clone)]
pub enum OrderTarget {
    /// This product, from its provider only.
    Product(ProductId),
    /// Any equivalent product of the offer, chosen by routing.
    Offer(OfferId),
}

/// A validated order request from a tenant.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub tenant_id: String,
    pub target: OrderTarget,
    pub quantity: u32,
    pub kind: OrderKind,
    pub idempotency_key: Option<String>,
}

impl OrderRequest {
    /// A stable hash of what is being ordered, to tell a retry of the same
    /// request from a reuse of its idempotency key for another one.
    fn fingerprint(&self) -> String {
        let target = match &self.kind {
            OrderKind::NewEsim => String::new(),
            OrderKind::TopUp { iccid } => iccid.to_string(),
        };
        let ordered = match &self.target {
            OrderTarget::Product(id) => id.to_string(),
            OrderTarget::Offer(id) => format!("offer:{}", id.as_str()),
        };
        let canonical = format!("{ordered}\n{}\n{target}", self.quantity);
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// What placing an order produced.
#[derive(Debug)]
pub struct PlaceOutcome {
    pub order: OrderRecord,
    /// True when an earlier request with the same idempotency key made it.
    pub replayed: bool,
}

impl Services {
    /// Writes an order down and submits it to its provider.
    pub async fn place_order(&self, request: OrderRequest) -> Result<PlaceOutcome, ServiceError> {
        let max = self.config.max_quantity;
        if request.quantity == 0 || request.quantity > max {
            return Err(ServiceError::InvalidQuantity {
                got: request.quantity,
                max,
            });
        }
        let (product_id, offer_id, candidates) = match &request.target {
            OrderTarget::Product(id) => (id.clone(), None, Vec::new()),
            OrderTarget::Offer(offer) => {
                let tenant = TenantId::from_stored(request.tenant_id.clone());
                let candidates = self.route_offer(&tenant, offer).await?.products();
                let first = candidates
                    .first()
                    .cloned()
                    .ok_or_else(|| ServiceError::UnknownOffer(offer.as_str().to_owned()))?;
                (first, Some(offer.as_str().to_owned()), candidates)
            }
        };
        // From the in-memory catalogue: one round trip fewer per order. A
        // product another instance's sync just withdrew may be accepted for
        // up to a second; its provider then refuses it like any other.
        let product = self
            .product(&product_id)
            .await?
            .ok_or_else(|| ServiceError::UnknownProduct(product_id.to_string()))?;
        if let OrderKind::TopUp { iccid } = &request.kind {
            let esim = self.esim(&request.tenant_id, iccid).await?;
            if esim.provider != product.id.provider {
                return Err(ServiceError::ProviderMismatch {
                    product: product.id.to_string(),
                    product_provider: product.id.provider,
                    iccid: iccid.to_string(),
                    esim_provider: esim.provider,
                });
            }
        }
        if self.connectors.get(product.id.provider).is_none() {
            return Err(ServiceError::ProviderNotConfigured(product.id.provider));
        }
        let sale = self
            .sale_price(&request.tenant_id, offer_id.as_deref(), &product)
            .await?;
        // Held in the transaction that writes the order, before any call.
        let hold = self
            .hold_for(&request.tenant_id, &sale, request.quantity)
            .await?;
        // Admitted now, the order is written already claimed for its first
        // attempt: one statement before the call instead of two. A probe
        // slot taken here and then not used (a replayed key) frees itself
        // after the cool-down, like any probe that never reports.
        // A provider whose known balance cannot cover the order is not
        // admitted either: the order is written pending and its submission
        // skips the provider without calling it.
        let covered = self
            .balance_short(
                product.id.provider,
                cost_of(product.price, request.quantity),
            )
            .await?
            .is_none();
        let admitted = covered && self.admit(product.id.provider) != Admission::Rejected;
        let new = NewOrder {
            tenant_id: request.tenant_id.clone(),
            idempotency_key: request.idempotency_key.clone(),
            request_hash: request.fingerprint(),
            product_id: product.id.clone(),
            kind: request.kind.clone(),
            quantity: request.quantity,
            unit_price: product.price,
            sale,
            offer_id,
            candidates,
            submitted_at: admitted.then(Utc::now),
            hold: Some(hold),
        };
        match self.store.insert_order(&new).await? {
            InsertOutcome::Created(order) => {
                crate::telemetry::order_created(order.provider());
                let order = if order.status == OrderStatus::Submitted {
                    let attempt = order.fence;
                    self.settle(self.call(order, attempt).await?).await?
                } else {
                    self.submit(order).await?
                };
                Ok(PlaceOutcome {
                    order,
                    replayed: false,
                })
            }
            InsertOutcome::Existing(order) => {
                if order.request_hash != new.request_hash {
                    return Err(ServiceError::IdempotencyConflict);
                }
                let retry = order.failure.as_ref().is_some_and(|f| f.retryable);
                if retry && self.reopen_for_retry(&order).await?.is_some() {
                    let reopened = self.reload(&order.id).await?;
                    let order = self.submit(reopened).await?;
                    return Ok(PlaceOutcome {
                        order,
                        replayed: false,
                    });
                }
                Ok(PlaceOutcome {
                    order,
                    replayed: true,
                })
            }
        }
    }

    /// Reopens a retryably failed order for the same request again. An
    /// offer order starts over from its first candidate (the provider that
    /// was down may be back).
    /// The failed order gave its hold back, so it holds anew (402 when the
    /// account can no longer cover it, and the order stays failed).
    async fn reopen_for_retry(&self, order: &OrderRecord) -> Result<Option<i64>, ServiceError> {
        let first = match order.candidates.first() {
            Some(first) if first != &order.product_id => first,
            _ => {
                let hold = match &order.sale {
                    Some(sale) if order.hold.is_some() => Some(
                        self.hold_for(&order.tenant_id, sale, order.quantity)
                            .await?,
                    ),
                    _ => None,
                };
                return Ok(self
                    .store
                    .reopen_order(&order.id, order.fence, hold.as_ref())
                    .await?);
            }
        };
        let product = self
            .store
            .product(first)
            .await?
            .ok_or_else(|| ServiceError::UnknownProduct(first.to_string()))?;
        let sale = self
            .sale_price(&order.tenant_id, order.offer_id.as_deref(), &product)
            .await?;
        let hold = match order.hold {
            Some(_) => Some(
                self.hold_for(&order.tenant_id, &sale, order.quantity)
                    .await?,
            ),
            None => None,
        };
        Ok(self
            .store
            .switch_candidate(&order.id, order.fence, &product, &sale, &[], hold.as_ref())
            .await?)
    }

    /// Moves an offer order whose attempt at `fence` certainly bought
    /// nothing to its next candidate, logging the attempt. A candidate whose
    /// price the tenant's account cannot cover is skipped (logged as
    /// `insufficient_funds`, never called) for the one after it. `None` when
    /// no candidate is left (or the next left the catalogue), or when
    /// another worker moved the order first.
    async fn fail_over(
        &self,
        order: &OrderRecord,
        fence: i64,
        error_code: &str,
        outcome: AttemptResult,
    ) -> Result<Option<OrderRecord>, ServiceError> {
        let mut attempts = vec![OrderAttempt {
            provider: order.provider(),
            product_id: order.product_id.clone(),
            outcome,
            error_code: Some(error_code.to_owned()),
            at: Utc::now(),
        }];
        let mut next = order.next_candidate();
        loop {
            let Some(candidate) = next else {
                return Ok(None);
            };
            let Some(product) = self.store.product(candidate).await? else {
                tracing::warn!(order = %order.id, %candidate, "next candidate left the catalogue; not failing over");
                return Ok(None);
            };
            let sale = match self
                .sale_price(&order.tenant_id, order.offer_id.as_deref(), &product)
                .await
            {
                Ok(sale) => sale,
                Err(ServiceError::Pricing(error)) => {
                    tracing::warn!(order = %order.id, %candidate, %error, "next candidate cannot be priced for the tenant; not failing over");
                    return Ok(None);
                }
                Err(other) => return Err(other),
            };
            let hold = match order.hold {
                Some(_) => self
                    .hold_for(&order.tenant_id, &sale, order.quantity)
                    .await
                    .map(Some),
                None => Ok(None),
            };
            let switched = match hold {
                Ok(hold) => self
                    .store
                    .switch_candidate(&order.id, fence, &product, &sale, &attempts, hold.as_ref())
                    .await
                    .map_err(ServiceError::from),
                Err(error) => Err(error),
            };
            let skipped = match switched {
                Ok(Some(_)) => break,
                Ok(None) => return Ok(None),
                Err(ServiceError::InsufficientFunds(shortfall)) => {
                    tracing::warn!(order = %order.id, %candidate, %shortfall, "skipping a candidate the account cannot cover");
                    "insufficient_funds"
                }
                Err(ServiceError::NoAccountRate { from, to }) => {
                    tracing::warn!(order = %order.id, %candidate, %from, %to, "skipping a candidate whose price cannot be held in the account's currency");
                    "no_account_fx_rate"
                }
                Err(other) => return Err(other),
            };
            attempts.push(OrderAttempt {
                provider: product.id.provider,
                product_id: product.id.clone(),
                outcome: AttemptResult::Skipped,
                error_code: Some(skipped.to_owned()),
                at: Utc::now(),
            });
            next = candidate_after(order, candidate);
        }
        metrics::counter!("simgate_failovers_total", "provider" => order.provider().as_str())
            .increment(1);
        let moved = self.reload(&order.id).await?;
        tracing::warn!(order = %order.id, from = %order.product_id, to = %moved.product_id, ?outcome, "failing over to the next candidate: the attempt bought nothing");
        Ok(Some(moved))
    }

    /// A tenant's order.
    pub async fn order(&self, tenant_id: &str, id: &OrderId) -> Result<OrderRecord, ServiceError> {
        self.store
            .order_for_tenant(tenant_id, id)
            .await?
            .ok_or_else(|| ServiceError::OrderNotFound(id.to_string()))
    }

    /// Waits until an order reaches a final status or `limit` passes, and
    /// returns it as it then stands. Reads the store, so an order completed
    /// by another instance (a webhook landing there) is seen too.
    pub async fn wait_for_final(
        &self,
        order: OrderRecord,
        limit: std::time::Duration,
    ) -> Result<OrderRecord, ServiceError> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut order = order;
        while !order.status.is_final() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(WAIT_POLL.min(deadline - tokio::time::Instant::now())).await;
            order = self.reload(&order.id).await?;
        }
        Ok(order)
    }

    /// A page of a tenant's orders, newest first.
    pub async fn orders(
        &self,
        tenant_id: &str,
        status: Option<OrderStatus>,
        before: Option<&OrderId>,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, ServiceError> {
        Ok(self
            .store
            .orders_for_tenant(tenant_id, status, before, limit)
            .await?)
    }

    pub(crate) async fn reload(&self, id: &OrderId) -> Result<OrderRecord, ServiceError> {
        self.store
            .order_by_id(id)
            .await?
            .ok_or_else(|| ServiceError::OrderNotFound(id.to_string()))
    }

    /// Claims a pending order (at the fence it was read with) and calls its
    /// provider. When another worker moved it first, returns the order as
    /// it stands.
    async fn submit(&self, order: OrderRecord) -> Result<OrderRecord, ServiceError> {
        self.settle(self.submit_once(order).await?).await
    }

    /// Follows a submission through the failovers it leads to, each next
    /// candidate claimed and called in turn.
    async fn settle(&self, submission: Submission) -> Result<OrderRecord, ServiceError> {
        let mut submission = submission;
        loop {
            match submission {
                Submission::Settled(order) => return Ok(order),
                Submission::FailedOver(next) => submission = self.submit_once(next).await?,
            }
        }
    }

    /// One claim and call of the order's current candidate.
    async fn submit_once(&self, order: OrderRecord) -> Result<Submission, ServiceError> {
        let provider = order.provider();
        if self.connectors.get(provider).is_none() {
            return Err(ServiceError::ProviderNotConfigured(provider));
        }
        if let Some(balance) = self
            .balance_short(provider, cost_of(order.unit_price, order.quantity))
            .await?
        {
            return self.skip_balance_low(order, balance).await;
        }
        if self.admit(provider) == Admission::Rejected {
            return self.skip_open_circuit(order).await;
        }
        let Some(attempt) = self
            .store
            .claim_for_submission(&order.id, order.fence, Utc::now())
            .await?
        else {
            return Ok(Submission::Settled(self.reload(&order.id).await?));
        };
        self.call(order, attempt).await
    }

    /// Calls the provider for the order's attempt at `attempt` (claimed
    /// already) and records what it said.
    async fn call(&self, order: OrderRecord, attempt: i64) -> Result<Submission, ServiceError> {
        let provider = order.provider();
        let connector = self
            .connectors
            .get(provider)
            .ok_or(ServiceError::ProviderNotConfigured(provider))?;
        let request = PlaceOrder {
            reference: order.id.to_string(),
            sku: order.product_id.sku.clone(),
            quantity: order.quantity,
            kind: order.kind.clone(),
        };
        tracing::info!(order = %order.id, %provider, sku = %request.sku, attempt, "submitting order upstream");
        match connector.place_order(&request).await {
            Ok(placed) => Ok(Submission::Settled(
                self.adopt(&order, attempt, &placed).await?.into_order(),
            )),
            Err(error) => {
                if error.nothing_was_processed() {
                    let code = failure_code(&error);
                    if let Some(next) = self
                        .fail_over(&order, attempt, code, AttemptResult::NothingBought)
                        .await?
                    {
                        return Ok(Submission::FailedOver(next));
                    }
                    let failure = OrderFailure {
                        code: code.to_owned(),
                        message: error.to_string(),
                        retryable: error.is_transient(),
                    };
                    if let Some(failed) =
                        self.store.fail_order(&order.id, attempt, &failure).await?
                    {
                        self.announced(&failed.order, failed.event).await;
                    }
                    tracing::warn!(order = %order.id, %error, "provider did not take the order");
                } else {
                    tracing::warn!(order = %order.id, %error, "order outcome unknown; it will be reconciled");
                }
                let order = self.reload(&order.id).await?;
                Err(ServiceError::Upstream {
                    order: Some(Box::new(order)),
                    source: error,
                })
            }
        }
    }

    /// The order's provider has an open circuit, so it is not called:
    /// an offer order moves on to its next candidate, the skipped attempt
    /// logged as `circuit_open`. Otherwise the order stays pending, never
    /// failed (nothing was sent): the caller hears 503 `circuit_open`, and
    /// the reconciler submits it once the circuit lets a probe through.
    async fn skip_open_circuit(&self, order: OrderRecord) -> Result<Submission, ServiceError> {
        let fence = order.fence;
        if let Some(next) = self
            .fail_over(&order, fence, "circuit_open", AttemptResult::NothingBought)
            .await?
        {
            return Ok(Submission::FailedOver(next));
        }
        let current = self.reload(&order.id).await?;
        if current.fence != fence || current.status != OrderStatus::Pending {
            // Another worker moved it first.
            return Ok(Submission::Settled(current));
        }
        tracing::warn!(order = %order.id, provider = %order.provider(), "the provider's circuit is open; the order waits");
        Err(ServiceError::Upstream {
            order: Some(Box::new(current)),
            source: ConnectorError::CircuitOpen,
        })
    }

    /// The order's provider has a known balance that cannot cover it, so it
    /// is certainly unable to sell and is not called: an offer order moves
    /// on to its next candidate, the skipped attempt logged as
    /// `provider_balance_low`. Otherwise the order fails retryably (nothing
    /// was sent; the same key tries again once the balance is topped up).
    async fn skip_balance_low(
        &self,
        order: OrderRecord,
        balance: simgate_domain::Money,
    ) -> Result<Submission, ServiceError> {
        let fence = order.fence;
        let provider = order.provider();
        if let Some(next) = self
            .fail_over(&order, fence, BALANCE_LOW, AttemptResult::NothingBought)
            .await?
        {
            return Ok(Submission::FailedOver(next));
        }
        let failure = OrderFailure {
            code: BALANCE_LOW.to_owned(),
            message: format!(
                "the balance simgate has with {provider} ({balance}) cannot cover this order"
            ),
            retryable: true,
        };
        let Some(Moved {
            order: failed,
            event,
        }) = self.store.fail_order(&order.id, fence, &failure).await?
        else {
            // Another worker moved it first.
            return Ok(Submission::Settled(self.reload(&order.id).await?));
        };
        self.announced(&failed, event).await;
        tracing::warn!(order = %order.id, %provider, %balance, "the provider's balance cannot cover the order; not called");
        Err(ServiceError::ProviderBalanceLow {
            order: Some(Box::new(failed)),
            provider,
            balance,
        })
    }

    /// Records a provider's order as the answer to our attempt at `fence`
    /// (with its eSIMs). A superseded attempt's answer is never dropped:
    /// the store links it or keeps it as an extra purchase, which is logged
    /// and counted here so that an operator refunds it.
    pub(crate) async fn adopt(
        &self,
        order: &OrderRecord,
        fence: i64,
        placed: &PlacedOrder,
    ) -> Result<Recorded, ServiceError> {
        let status = delivered_status(placed);
        let mut recorded = self
            .store
            .record_upstream_order(
                order,
                fence,
                &placed.reference,
                &placed.provider_status,
                status,
                &placed.esims,
            )
            .await?;
        if matches!(recorded, Recorded::Linked { .. } | Recorded::Extra(_)) {
            self.balance_spent(recorded.order().provider());
        }
        let provider = recorded.order().provider().as_str();
        match &mut recorded {
            Recorded::Linked {
                order,
                superseded,
                event,
            } => {
                if *superseded {
                    metrics::counter!("simgate_superseded_answers_total", "provider" => provider, "kind" => "order")
                        .increment(1);
                    tracing::warn!(order = %order.id, upstream = %placed.reference, "recorded the answer of a superseded attempt as the order's purchase");
                }
                self.announced(order, event.take()).await;
                tracing::info!(order = %order.id, upstream = %placed.reference, status = %order.status, "order recorded");
                self.settle_provider_refund(order).await;
            }
            Recorded::Extra(order) => {
                metrics::counter!("simgate_extra_purchases_total", "provider" => provider, "kind" => "order")
                    .increment(1);
                tracing::error!(order = %order.id, upstream = %placed.reference, "a superseded attempt bought this order again: extra purchase recorded, refund it");
            }
            Recorded::LinkedElsewhere(order) => {
                tracing::warn!(order = %order.id, upstream = %placed.reference, "the provider's order already belongs to another order");
            }
            Recorded::Unchanged(_) | Recorded::NotTaken(_) => {}
        }
        Ok(recorded)
    }

    /// Takes a provider order matched by content as the purchase of a lost
    /// answer, if this attempt is still current; true when it was taken.
    async fn adopt_match(
        &self,
        order: &OrderRecord,
        fence: i64,
        found: &PlacedOrder,
    ) -> Result<bool, ServiceError> {
        let recorded = self
            .store
            .adopt_matched_order(
                order,
                fence,
                &UpstreamAnswer {
                    upstream_ref: &found.reference,
                    provider_status: &found.provider_status,
                    status: delivered_status(found),
                    esims: &found.esims,
                },
            )
            .await?;
        if let Recorded::Linked { order, event, .. } = recorded {
            self.balance_spent(order.provider());
            tracing::info!(order = %order.id, upstream = %found.reference, status = %order.status, "adopted the provider's order for a lost answer");
            self.announced(&order, event).await;
            return Ok(true);
        }
        tracing::info!(order = %order.id, upstream = %found.reference, "a matched provider order was not taken: the attempt is no longer current");
        Ok(false)
    }

    /// Resolves every order whose upstream outcome is unknown: submitted
    /// with no answer for longer than the reconcile delay, or written down
    /// and never sent (a crash between the two steps); and follows orders
    /// the provider is still fulfilling. The orders are leased first, so
    /// several instances share the work without touching the same order.
    /// Returns how many were settled.
    pub async fn reconcile_orders(&self) -> Result<usize, ServiceError> {
        let cutoff = self.reconcile_cutoff();
        let lease = self.lease();
        let stuck = self
            .store
            .claim_orders_to_reconcile(&lease, cutoff, cutoff, RECONCILE_BATCH)
            .await?;
        let fulfilling = self
            .store
            .claim_orders_fulfilling(&lease, RECONCILE_BATCH)
            .await?;
        crate::telemetry::reconcile_backlog(stuck.len() + fulfilling.len());
        let mut settled = 0;
        for order in stuck.into_iter().chain(fulfilling) {
            let (id, fence) = (order.id.clone(), order.fence);
            settled += usize::from(self.reconcile_logged(order).await);
            // Moves end the lease themselves; this gives back the rest.
            if let Err(error) = self.store.release_order(&id, fence).await {
                tracing::warn!(order = %id, %error, "could not release an order's lease; it expires");
            }
        }
        Ok(settled)
    }

    /// Polls the provider for its orders still being fulfilled.
    pub(crate) async fn poll_fulfilling(
        &self,
        provider: ProviderId,
    ) -> Result<usize, ServiceError> {
        let fulfilling = self.store.orders_fulfilling(Some(provider)).await?;
        Ok(self.reconcile_each(fulfilling).await)
    }

    /// Reconciles each order, one failure not stopping the others; returns
    /// how many were settled.
    async fn reconcile_each(&self, orders: impl IntoIterator<Item = OrderRecord>) -> usize {
        let mut settled = 0;
        for order in orders {
            settled += usize::from(self.reconcile_logged(order).await);
        }
        settled
    }

    /// Reconciles one order; true when it was settled, a failure logged.
    async fn reconcile_logged(&self, order: OrderRecord) -> bool {
        let id = order.id.clone();
        self.reconcile_one(order)
            .await
            .inspect_err(
                |error| tracing::warn!(order = %id, %error, "could not reconcile an order yet"),
            )
            .unwrap_or(false)
    }

    /// Settles one order read at its current fence (leased, for a lost
    /// answer): every move below is compare-and-set on that fence.
    async fn reconcile_one(&self, order: OrderRecord) -> Result<bool, ServiceError> {
        match order.status {
            OrderStatus::Pending => {
                tracing::info!(order = %order.id, "submitting an order that was never sent");
                self.submit_or_keep(order).await
            }
            OrderStatus::Submitted => {
                let connector = self
                    .connectors
                    .get(order.provider())
                    .ok_or(ServiceError::ProviderNotConfigured(order.provider()))?;
                match connector.reconcile_strategy() {
                    ReconcileStrategy::IdempotentResubmission => {
                        self.resubmit_idempotent(order).await
                    }
                    ReconcileStrategy::LookupByReference => {
                        self.lookup_by_reference(connector.as_ref(), order).await
                    }
                    ReconcileStrategy::ListAndMatch => {
                        self.list_and_match(connector.as_ref(), order).await
                    }
                }
            }
            OrderStatus::Fulfilling => self.follow_fulfilling(order).await,
            _ => Ok(false),
        }
    }

    /// Idempotent resubmission: placing the same order again buys nothing
    /// twice, so a lost answer is recovered by placing it again.
    async fn resubmit_idempotent(&self, order: OrderRecord) -> Result<bool, ServiceError> {
        let (id, fence) = (order.id.clone(), order.fence);
        if self.store.reopen_order(&id, fence, None).await?.is_none() {
            return Ok(false);
        }
        tracing::info!(order = %id, "placing an order whose answer was lost again");
        let reopened = self.reload(&id).await?;
        self.submit_or_keep(reopened).await
    }

    /// Lookup by caller reference: the provider's order carrying our id is
    /// adopted; when there is none, the order was never placed and is
    /// placed again.
    async fn lookup_by_reference(
        &self,
        connector: &dyn Connector,
        order: OrderRecord,
    ) -> Result<bool, ServiceError> {
        let (id, fence) = (order.id.clone(), order.fence);
        let found = connector
            .order_by_reference(&id.0)
            .await
            .map_err(ServiceError::upstream)?;
        if let Some(found) = found {
            tracing::info!(order = %id, upstream = %found.reference, "found the provider's order by our reference");
            let recorded = self.adopt(&order, fence, &found).await?;
            return Ok(matches!(recorded, Recorded::Linked { .. }));
        }
        if let Some(next) = self.fail_over_reconciled(&order).await? {
            return self.submit_or_keep(next).await;
        }
        if self.store.reopen_order(&id, fence, None).await?.is_none() {
            return Ok(false);
        }
        tracing::info!(order = %id, "provider has no order with our reference; placing it again");
        let reopened = self.reload(&id).await?;
        self.submit_or_keep(reopened).await
    }

    /// List-and-match: the provider's orders since our submission are
    /// searched for an unclaimed one of the same content, which is adopted;
    /// without one the order is submitted again, or failed once it has
    /// used up its attempts.
    async fn list_and_match(
        &self,
        connector: &dyn Connector,
        order: OrderRecord,
    ) -> Result<bool, ServiceError> {
        let (id, fence) = (order.id.clone(), order.fence);
        let since = order.submitted_at.unwrap_or(order.created_at) - CLOCK_SKEW;
        let upstream = connector
            .orders_since(since)
            .await
            .map_err(ServiceError::upstream)?;
        if let Some(found) = self.find_match(&order, &upstream, since).await? {
            return self.adopt_match(&order, fence, found).await;
        }
        if let Some(next) = self.fail_over_reconciled(&order).await? {
            return self.submit_or_keep(next).await;
        }
        if order.attempts >= self.config.max_attempts {
            let failure = OrderFailure {
                code: "upstream_unreachable".to_owned(),
                message: format!(
                    "no answer from the provider after {} attempts",
                    order.attempts
                ),
                retryable: true,
            };
            let failed = self.store.fail_order(&id, fence, &failure).await?;
            let settled = failed.is_some();
            if let Some(failed) = failed {
                self.announced(&failed.order, failed.event).await;
            }
            return Ok(settled);
        }
        if self.store.reopen_order(&id, fence, None).await?.is_none() {
            return Ok(false);
        }
        tracing::info!(order = %id, "provider has no such order; submitting again");
        let reopened = self.reload(&id).await?;
        self.submit_or_keep(reopened).await
    }

    /// After reconciliation proved that the order's uncertain attempt bought
    /// nothing: an offer order moves on to its next candidate.
    async fn fail_over_reconciled(
        &self,
        order: &OrderRecord,
    ) -> Result<Option<OrderRecord>, ServiceError> {
        self.fail_over(
            order,
            order.fence,
            "upstream_outcome_unknown",
            AttemptResult::ProvedNothing,
        )
        .await
    }

    /// Follows an order the provider is still fulfilling, where it can be
    /// looked up; orders fulfilled by webhook only are left to the webhook.
    async fn follow_fulfilling(&self, order: OrderRecord) -> Result<bool, ServiceError> {
        let fence = order.fence;
        let (Some(reference), Some(connector)) =
            (&order.upstream_ref, self.connectors.get(order.provider()))
        else {
            return Ok(false);
        };
        if !connector.capabilities().contains(&Capability::OrderLookup) {
            // Fulfilled by webhook only: nothing to poll.
            return Ok(false);
        }
        let placed = connector
            .fetch_order(reference)
            .await
            .map_err(ServiceError::upstream)?;
        let done = match placed.status {
            OrderStatus::Completed => !placed.esims.is_empty(),
            status => status.is_final(),
        };
        if done {
            self.adopt(&order, fence, &placed).await?;
        }
        Ok(done)
    }

    /// Submits, treating an upstream failure as "settled for now": the order
    /// is left in a state the next reconcile pass handles.
    async fn submit_or_keep(&self, order: OrderRecord) -> Result<bool, ServiceError> {
        match self.submit(order).await {
            Ok(order) => Ok(order.upstream_ref.is_some()),
            Err(ServiceError::Upstream { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The provider's order that ours became: same product, quantity and
    /// target, created after we submitted, and not already linked to another
    /// of our orders. Orders of equal content are interchangeable, so the
    /// oldest unclaimed one is taken.
    async fn find_match<'a>(
        &self,
        order: &OrderRecord,
        upstream: &'a [PlacedOrder],
        since: DateTime<Utc>,
    ) -> Result<Option<&'a PlacedOrder>, ServiceError> {
        let mut candidates: Vec<&PlacedOrder> = upstream
            .iter()
            .filter(|p| p.sku == order.product_id.sku && p.quantity == order.quantity)
            .filter(|p| p.created_at.is_none_or(|at| at >= since))
            .filter(|p| match &order.kind {
                OrderKind::NewEsim => true,
                OrderKind::TopUp { iccid } => p.esims.iter().any(|e| &e.iccid == iccid),
            })
            .collect();
        candidates.sort_by_key(|p| p.created_at);
        for candidate in candidates {
            if !self
                .store
                .purchase_taken(order.provider(), &candidate.reference)
                .await?
            {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }
}

/// Where one submission left an order.
enum Submission {
    /// Bought, failed, left to the reconciler, or moved by someone else.
    Settled(OrderRecord),
    /// Certainly nothing bought; now pending at the next candidate.
    FailedOver(OrderRecord),
}

/// The candidate after `candidate` in the order's routing order.
fn candidate_after<'a>(order: &'a OrderRecord, candidate: &ProductId) -> Option<&'a ProductId> {
    let at = order.candidates.iter().position(|c| c == candidate)?;
    order.candidates.get(at + 1)
}

/// The stable code of a failure the provider told us about.
fn failure_code(error: &ConnectorError) -> &'static str {
    match error {
        ConnectorError::RateLimited { .. } => "upstream_rate_limited",
        ConnectorError::Unavailable { .. } | ConnectorError::Connect(_) => "upstream_unavailable",
        ConnectorError::Unauthorized { .. } => "upstream_auth_failed",
        ConnectorError::Unsupported(_) => "unsupported_by_provider",
        _ => "upstream_rejected",
    }
}

/// The status a provider's order puts ours in: eSIM Go answers `completed`
/// before every eSIM is listed on large orders, which is still fulfilling.
fn delivered_status(placed: &PlacedOrder) -> OrderStatus {
    match placed.status {
        OrderStatus::Completed if placed.esims.is_empty() => OrderStatus::Fulfilling,
        other => other,
    }
}
