//! Physical SIM card orders: addresses, cost previews, orders written down
//! before the provider is called, and status changes followed by polling
//! and announced as `sim_order.<status>` events.

use chrono::Duration as ChronoDuration;
use sha2::{Digest, Sha256};
use simgate_connectors::SimCardOrders;
use simgate_domain::entities::{
    InsertOutcome, SimOrderAnswer, SimOrderInsert, SimOrderRecord, SimOrderState,
};
use simgate_domain::{
    Capability, NewAddress, OutboundEvent, PageRequest, ProviderId, ShippingAddress,
    SimOrderEventData, SimOrderFilter, SimOrderPreview, TenantId,
};
use std::sync::Arc;

use crate::{ServiceError, Services};

/// Most SIM cards one order may ask for.
pub const MAX_SIM_ORDER_QUANTITY: u32 = 1000;

/// A request for SIM cards.
#[derive(Debug, Clone)]
pub struct SimOrderRequest {
    pub tenant_id: String,
    pub provider: Option<ProviderId>,
    /// The provider's address id, from [`Services::create_address`].
    pub address_id: String,
    pub quantity: u32,
    pub idempotency_key: Option<String>,
}

/// A placed (or replayed) SIM order.
#[derive(Debug, Clone)]
pub struct SimOrderOutcome {
    pub order: SimOrderRecord,
    /// True when an earlier request with the same key made this order.
    pub replayed: bool,
}

impl Services {
    fn sim_provider(
        &self,
        provider: Option<ProviderId>,
    ) -> Result<Arc<dyn SimCardOrders>, ServiceError> {
        self.connectors
            .sim_orders(provider)
            .ok_or(ServiceError::NoProviderFor(Capability::SimCardOrders))
    }

    fn check_quantity(quantity: u32) -> Result<(), ServiceError> {
        if quantity == 0 || quantity > MAX_SIM_ORDER_QUANTITY {
            return Err(ServiceError::InvalidQuantity {
                got: quantity,
                max: MAX_SIM_ORDER_QUANTITY,
            });
        }
        Ok(())
    }

    async fn owned_address(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        address_id: &str,
    ) -> Result<(), ServiceError> {
        if self
            .store
            .owns_address(tenant_id, provider, address_id)
            .await?
        {
            Ok(())
        } else {
            Err(ServiceError::AddressNotFound(address_id.to_owned()))
        }
    }

    /// Creates a shipping address at the provider, for this tenant.
    pub async fn create_address(
        &self,
        tenant_id: &str,
        provider: Option<ProviderId>,
        address: &NewAddress,
    ) -> Result<ShippingAddress, ServiceError> {
        address.validate()?;
        let connector = self.sim_provider(provider)?;
        let created = connector
            .create_address(address)
            .await
            .map_err(ServiceError::upstream)?;
        self.store
            .insert_address(tenant_id, connector.provider(), &created)
            .await?;
        Ok(created)
    }

    /// What an order would cost.
    pub async fn preview_sim_order(
        &self,
        tenant_id: &str,
        provider: Option<ProviderId>,
        address_id: &str,
        quantity: u32,
    ) -> Result<SimOrderPreview, ServiceError> {
        Self::check_quantity(quantity)?;
        let connector = self.sim_provider(provider)?;
        self.owned_address(tenant_id, connector.provider(), address_id)
            .await?;
        connector
            .preview_sim_order(address_id, quantity)
            .await
            .map_err(ServiceError::upstream)
    }

    /// Orders SIM cards. The order is written down first; if the provider's
    /// answer is lost it stays `submitting` until the follow-up pass finds
    /// it upstream (or establishes that it was never created).
    pub async fn place_sim_order(
        &self,
        request: SimOrderRequest,
    ) -> Result<SimOrderOutcome, ServiceError> {
        Self::check_quantity(request.quantity)?;
        let connector = self.sim_provider(request.provider)?;
        let provider = connector.provider();
        self.owned_address(&request.tenant_id, provider, &request.address_id)
            .await?;
        let fingerprint = hex::encode(Sha256::digest(format!(
            "{provider}\n{}\n{}",
            request.address_id, request.quantity
        )));
        // A replayed key answers its order without asking the provider
        // anything (the insert below checks again, for a replay racing it).
        if let Some(key) = &request.idempotency_key
            && let Some(order) = self
                .store
                .sim_order_with_key(&request.tenant_id, key)
                .await?
        {
            return Self::replayed(order, &fingerprint);
        }
        // The provider's own preview says what the order will cost: that is
        // held on the tenant's account with the row, before the order is
        // sent, and refused (402, nothing sent) when it does not fit.
        let preview = connector
            .preview_sim_order(&request.address_id, request.quantity)
            .await
            .map_err(ServiceError::upstream)?;
        let hold = self.hold_of(&request.tenant_id, preview.total_cost).await?;
        let insert = SimOrderInsert {
            tenant_id: request.tenant_id.clone(),
            provider,
            address_id: request.address_id.clone(),
            quantity: request.quantity,
            idempotency_key: request.idempotency_key.clone(),
            request_hash: fingerprint.clone(),
            hold: Some(hold),
        };
        let record = match self.store.insert_sim_order(&insert).await? {
            InsertOutcome::Existing(order) => return Self::replayed(order, &fingerprint),
            InsertOutcome::Created(order) => order,
        };
        match connector
            .create_sim_order(&request.address_id, request.quantity)
            .await
        {
            Ok(placed) => {
                self.record_sim_answer(&record.id, record.fence, &placed)
                    .await?;
            }
            Err(error) if error.nothing_was_processed() => {
                self.store
                    .fail_sim_order(&record.id, record.fence, &error.to_string())
                    .await?;
                return Err(ServiceError::upstream(error));
            }
            Err(error) => {
                tracing::warn!(order = %record.id, %error, "SIM order outcome unknown; it will be looked up");
            }
        }
        Ok(SimOrderOutcome {
            order: self.sim_order_record(&record.id).await?,
            replayed: false,
        })
    }

    /// The order an earlier request with the same key made: its answer
    /// again, or a conflict when that request was another one.
    fn replayed(order: SimOrderRecord, fingerprint: &str) -> Result<SimOrderOutcome, ServiceError> {
        if order.request_hash != fingerprint {
            return Err(ServiceError::IdempotencyConflict);
        }
        Ok(SimOrderOutcome {
            order,
            replayed: true,
        })
    }

    async fn sim_order_record(&self, id: &str) -> Result<SimOrderRecord, ServiceError> {
        self.store
            .sim_order(id)
            .await?
            .ok_or_else(|| ServiceError::SimOrderNotFound(id.to_owned()))
    }

    /// A tenant's SIM order, refreshed from the provider while it can change.
    pub async fn sim_order(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<SimOrderRecord, ServiceError> {
        let record = self
            .store
            .sim_order(id)
            .await?
            .filter(|r| r.tenant_id == tenant_id)
            .ok_or_else(|| ServiceError::SimOrderNotFound(id.to_owned()))?;
        if record.state.is_final() || record.upstream_id.is_none() {
            return Ok(record);
        }
        let refreshed = self.follow_sim_order(record.clone()).await;
        Ok(refreshed.unwrap_or_else(|error| {
            // The last known state is still the truth we have.
            tracing::warn!(order = id, %error, "could not refresh a SIM order");
            record
        }))
    }

    /// A page of a tenant's SIM orders, newest first.
    pub async fn sim_orders(
        &self,
        tenant_id: &str,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<(Vec<SimOrderRecord>, u64), ServiceError> {
        Ok(self
            .store
            .sim_orders_for_tenant(tenant_id, status, page.number, page.size)
            .await?)
    }

    /// Follows every SIM order that can still change; returns how many
    /// changed. The orders are leased first, so several instances share the
    /// work without touching the same order.
    pub async fn follow_sim_orders(&self) -> Result<usize, ServiceError> {
        let mut changed = 0;
        let claimed = self
            .store
            .claim_sim_orders_to_follow(&self.lease(), self.reconcile_cutoff(), 100)
            .await?;
        for record in claimed {
            let before = record.state;
            let (id, fence) = (record.id.clone(), record.fence);
            match self.follow_sim_order(record).await {
                Ok(now) => {
                    if now.state != before {
                        changed += 1;
                    }
                }
                Err(error) => tracing::warn!(order = %id, %error, "could not follow a SIM order"),
            }
            if let Err(error) = self.store.release_sim_order(&id, fence).await {
                tracing::warn!(order = %id, %error, "could not release a SIM order's lease; it expires");
            }
        }
        Ok(changed)
    }

    /// Records the provider's answer to the creation attempt at `fence`,
    /// announcing a new status; an extra purchase is logged and counted so
    /// that an operator refunds it.
    async fn record_sim_answer(
        &self,
        id: &str,
        fence: i64,
        placed: &simgate_domain::SimOrder,
    ) -> Result<SimOrderAnswer, ServiceError> {
        let answer = self
            .store
            .record_sim_order_answer(id, fence, placed)
            .await?;
        match answer {
            SimOrderAnswer::Linked {
                previous,
                superseded,
            } => {
                if superseded {
                    tracing::warn!(order = id, upstream = %placed.id, "recorded the answer of a superseded attempt as the SIM order's purchase");
                    metrics::counter!("simgate_superseded_answers_total", "kind" => "sim_order")
                        .increment(1);
                }
                let now = self.sim_order_record(id).await?;
                if previous != now.state {
                    self.announce_sim_order(&now).await;
                }
            }
            SimOrderAnswer::Extra => {
                metrics::counter!("simgate_extra_purchases_total", "kind" => "sim_order")
                    .increment(1);
                tracing::error!(order = id, upstream = %placed.id, "a superseded attempt bought this SIM order again: extra purchase recorded, refund it");
            }
            SimOrderAnswer::LinkedElsewhere => {
                tracing::warn!(order = id, upstream = %placed.id, "the provider's SIM order already belongs to another order");
            }
            SimOrderAnswer::Unchanged | SimOrderAnswer::NotTaken => {}
        }
        Ok(answer)
    }

    /// Asks the provider about one order; returns the order as it now stands.
    async fn follow_sim_order(
        &self,
        record: SimOrderRecord,
    ) -> Result<SimOrderRecord, ServiceError> {
        let connector = self.sim_provider(Some(record.provider))?;
        let Some(upstream_id) = &record.upstream_id else {
            return self.recover_sim_order(connector.as_ref(), &record).await;
        };
        let upstream = connector
            .sim_order(upstream_id)
            .await
            .map_err(ServiceError::upstream)?;
        let previous = self.store.record_sim_order(&record.id, &upstream).await?;
        let now = self.sim_order_record(&record.id).await?;
        if previous != now.state {
            self.announce_sim_order(&now).await;
        }
        Ok(now)
    }

    /// Settles an order whose creation answer was lost: the provider keeps
    /// no caller reference, so its recent orders to the same address with
    /// the same quantity, created since ours and not yet linked, are matched.
    /// Adopting and failing are compare-and-set on the leased fence.
    async fn recover_sim_order(
        &self,
        connector: &dyn SimCardOrders,
        record: &SimOrderRecord,
    ) -> Result<SimOrderRecord, ServiceError> {
        if record.created_at > self.reconcile_cutoff() {
            // The call may still be in flight.
            return Ok(record.clone());
        }
        let filter = SimOrderFilter {
            address_id: Some(record.address_id.clone()),
            quantity: Some(record.quantity),
            ..SimOrderFilter::default()
        };
        let page = PageRequest::new(1, simgate_domain::sim_order::MAX_PAGE_SIZE)?;
        let listed = connector
            .list_sim_orders(&filter, page)
            .await
            .map_err(ServiceError::upstream)?;
        let since = record.created_at - ChronoDuration::seconds(60);
        for candidate in listed.orders {
            if candidate.created_at >= since
                && !self
                    .store
                    .purchase_taken(record.provider, &candidate.id)
                    .await?
            {
                let answer = self
                    .store
                    .adopt_matched_sim_order(&record.id, record.fence, &candidate)
                    .await?;
                if let SimOrderAnswer::Linked { previous, .. } = answer {
                    tracing::info!(order = %record.id, upstream = %candidate.id, "found a SIM order whose answer was lost");
                    let now = self.sim_order_record(&record.id).await?;
                    if previous != now.state {
                        self.announce_sim_order(&now).await;
                    }
                    return Ok(now);
                }
                tracing::info!(order = %record.id, upstream = %candidate.id, "a matched SIM order was not taken: the attempt is no longer current");
                return self.sim_order_record(&record.id).await;
            }
        }
        tracing::info!(order = %record.id, "SIM order was never created upstream");
        self.store
            .fail_sim_order(
                &record.id,
                record.fence,
                "the provider never created this order",
            )
            .await?;
        self.sim_order_record(&record.id).await
    }

    /// `sim_order.<status>` for each status an order reaches.
    async fn announce_sim_order(&self, record: &SimOrderRecord) {
        let SimOrderState::Placed(status) = record.state else {
            return;
        };
        let snapshot = record.snapshot.as_ref();
        let event = OutboundEvent::for_sim_order(SimOrderEventData {
            id: record.id.clone(),
            status,
            quantity: record.quantity,
            address_id: record.address_id.clone(),
            upstream_id: record.upstream_id.clone(),
            tracking_url: snapshot.and_then(|s| s.tracking_url.clone()),
            cost: snapshot.map(|s| s.cost),
        });
        let tenant_id = TenantId::from_stored(record.tenant_id.as_str());
        if let Err(error) = self.emit(&tenant_id, event).await {
            tracing::error!(order = %record.id, %error, "could not record a SIM order event");
        }
    }
}
