//! Provider balances: what simgate has left with each provider that
//! documents a prepaid balance (eSIM Go's `GET /organisation`), and what its
//! own purchase ledger says it spent there.
//!
//! The balance is read on a schedule and, debounced, after purchases: a
//! purchase only marks its provider's balance stale in memory, and the
//! balance job (a tick a second) reads it again, so a burst of orders costs
//! one provider call, not one per order. The last read is stored
//! (`provider_balances`), so every instance shows and routes by it; each
//! instance reloads the stored reads on every tick. Below the operator's
//! threshold, `provider.balance.low` goes to the operator's endpoints, once
//! per crossing: the stored row keeps the read that first went below, and
//! the event is keyed by it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use simgate_domain::entities::{OPERATOR_OWNER, ProviderBalance, ProviderSpend, StoredBalance};
use simgate_domain::{BalanceEventData, Currency, Money, OutboundEvent, ProviderId, TenantId};

use crate::{ServiceError, Services};

/// Why simgate shows no balance for a provider that documents none.
const NO_BALANCE_ENDPOINT: &str = "the provider documents no balance endpoint";

/// Balances as this instance last read them from the store, and which
/// providers' balances a purchase here made stale.
#[derive(Debug, Default)]
pub(crate) struct BalanceState {
    known: Mutex<BTreeMap<ProviderId, ProviderBalance>>,
    stale: Mutex<BTreeSet<ProviderId>>,
    refreshed: Mutex<BTreeMap<ProviderId, Instant>>,
}

/// Locks a mutex whose data stays consistent even if a holder panicked
/// (each critical section is a single map operation).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A provider's balance and spend, as `GET /admin/v1/providers/{id}/balance`
/// and the console show them.
#[derive(Debug, Clone)]
pub struct BalanceReport {
    pub provider: ProviderId,
    /// The last balance read; `None` before the first read, or when the
    /// provider documents no balance.
    pub balance: Option<ProviderBalance>,
    /// Why there is no balance, when there is none.
    pub reason: Option<&'static str>,
    /// The operator's `provider.balance.low` threshold, in the balance's
    /// currency (its currency is known once a balance was read).
    pub threshold: Option<Decimal>,
    /// True when the last balance read is below the threshold.
    pub low: bool,
    /// What the purchase ledger says was bought, per currency.
    pub spend: Vec<ProviderSpend>,
}

/// Whether simgate can read `provider`'s balance: only eSIM Go documents one.
pub fn documents_balance(provider: ProviderId) -> bool {
    provider == ProviderId::EsimGo
}

impl Services {
    /// Sets the per-provider thresholds below which `provider.balance.low`
    /// is sent (amounts in the provider's balance currency).
    #[must_use]
    pub fn with_balance_thresholds(mut self, thresholds: BTreeMap<ProviderId, Decimal>) -> Self {
        self.balance_thresholds = std::sync::Arc::new(thresholds);
        self
    }

    /// A purchase was made at `provider`: its balance is read again by the
    /// next tick of the balance job (debounced: one read for many orders).
    pub(crate) fn balance_spent(&self, provider: ProviderId) {
        if documents_balance(provider) {
            lock(&self.balances.stale).insert(provider);
        }
    }

    /// Reads `provider`'s balance now, stores it, moves its low-balance
    /// state and sends `provider.balance.low` on a crossing.
    pub async fn refresh_balance(
        &self,
        provider: ProviderId,
    ) -> Result<ProviderBalance, ServiceError> {
        if !documents_balance(provider) {
            return Err(ServiceError::NoProviderBalance(provider));
        }
        let read_at = Utc::now();
        // Taken before the call: a purchase during it marks it stale again.
        lock(&self.balances.stale).remove(&provider);
        let organisation = match self.esim_go()?.organisation().await {
            Ok(organisation) => organisation,
            Err(error) => {
                lock(&self.balances.stale).insert(provider);
                return Err(error);
            }
        };
        lock(&self.balances.refreshed).insert(provider, Instant::now());
        let currency = Currency::parse(&organisation.currency).map_err(|e| {
            ServiceError::upstream(simgate_connectors::ConnectorError::InvalidResponse(
                e.to_string(),
            ))
        })?;
        // An overdrawn account can cover nothing: read as zero, since money
        // is never negative here.
        let amount =
            Money::from_provider_float(organisation.balance.max(0.0), currency).map_err(|e| {
                ServiceError::upstream(simgate_connectors::ConnectorError::InvalidResponse(
                    e.to_string(),
                ))
            })?;
        let read = ProviderBalance {
            provider,
            balance: amount,
            read_at,
            read_id: format!("bal_{}", uuid::Uuid::now_v7().simple()),
        };
        let threshold = self.balance_thresholds.get(&provider).copied();
        let below = threshold.is_some_and(|t| read.balance.amount < t);
        let stored = self.store.put_balance(&read, below).await?;
        tracing::info!(%provider, balance = %read.balance, below, "provider balance read");
        if let (
            StoredBalance::Stored {
                low_read_id: Some(crossing),
            },
            Some(threshold),
        ) = (stored, threshold)
        {
            // Sent on every read below the threshold, always under the key
            // of the crossing's first read: recorded once, even if a crash
            // came between storing that read and recording the event.
            let event = OutboundEvent::ProviderBalanceLow(BalanceEventData {
                provider,
                balance: read.balance,
                threshold: Money {
                    amount: threshold,
                    currency: read.balance.currency,
                },
                read_at,
                crossing,
            });
            if self
                .emit(&TenantId::from_stored(OPERATOR_OWNER), event)
                .await?
            {
                tracing::warn!(%provider, balance = %read.balance, %threshold, "provider balance below the operator's threshold");
            }
        }
        self.remember_balance(read.clone());
        Ok(read)
    }

    /// Every configured provider, of every kind.
    fn configured_providers(&self) -> impl Iterator<Item = ProviderId> {
        self.connectors
            .capabilities()
            .into_iter()
            .map(|(provider, _)| provider)
    }

    fn remember_balance(&self, read: ProviderBalance) {
        let mut known = lock(&self.balances.known);
        if known
            .get(&read.provider)
            .is_some_and(|current| current.read_at > read.read_at)
        {
            return;
        }
        crate::telemetry::provider_balance(read.provider, &read.balance);
        known.insert(read.provider, read);
    }

    /// One tick of the balance job: reads again every balance a purchase
    /// made stale, or that is older here than `every`, then reloads the
    /// stored reads (another instance's included) for routing and the gauge.
    pub async fn balance_pass(&self, every: Duration) {
        let due: Vec<ProviderId> = self
            .configured_providers()
            .filter(|provider| documents_balance(*provider))
            .filter(|provider| {
                lock(&self.balances.stale).contains(provider)
                    || lock(&self.balances.refreshed)
                        .get(provider)
                        .is_none_or(|at| at.elapsed() >= every)
            })
            .collect();
        for provider in due {
            if let Err(error) = self.refresh_balance(provider).await {
                // Tried again after a full period, not every tick.
                lock(&self.balances.refreshed).insert(provider, Instant::now());
                tracing::warn!(%provider, %error, "could not read the provider's balance");
            }
        }
        match self.store.balances().await {
            Ok(stored) => stored
                .into_iter()
                .for_each(|read| self.remember_balance(read)),
            Err(error) => tracing::warn!(%error, "could not reload the stored provider balances"),
        }
    }

    /// The known balance of `provider` when it cannot cover `cost`: routing
    /// then treats the provider as certainly unable to sell. A cost in
    /// another currency is converted with the FX table; without a rate, or
    /// without a known balance, nothing is ruled out.
    pub(crate) async fn balance_short(
        &self,
        provider: ProviderId,
        cost: Money,
    ) -> Result<Option<Money>, ServiceError> {
        let Some(balance) = lock(&self.balances.known)
            .get(&provider)
            .map(|read| read.balance)
        else {
            return Ok(None);
        };
        let cost = if cost.currency == balance.currency {
            cost
        } else {
            match self
                .current_fx()
                .await?
                .convert(cost, balance.currency)
                .known()
            {
                Some(converted) => converted,
                None => return Ok(None),
            }
        };
        Ok((balance.amount < cost.amount).then_some(balance))
    }

    /// The balance and spend of a configured provider.
    pub async fn provider_balance(
        &self,
        provider: ProviderId,
    ) -> Result<BalanceReport, ServiceError> {
        if !self.configured_providers().any(|p| p == provider) {
            return Err(ServiceError::ProviderNotFound(provider.to_string()));
        }
        let threshold = self.balance_thresholds.get(&provider).copied();
        let balance = if documents_balance(provider) {
            self.store
                .balances()
                .await?
                .into_iter()
                .find(|read| read.provider == provider)
        } else {
            None
        };
        let reason = match (&balance, documents_balance(provider)) {
            (Some(_), _) => None,
            (None, true) => Some("not read yet"),
            (None, false) => Some(NO_BALANCE_ENDPOINT),
        };
        let spend = self
            .store
            .provider_spend(provider, balance.as_ref().map(|read| read.read_at))
            .await?;
        Ok(BalanceReport {
            provider,
            low: balance
                .as_ref()
                .zip(threshold)
                .is_some_and(|(read, t)| read.balance.amount < t),
            balance,
            reason,
            threshold,
            spend,
        })
    }

    /// Every configured provider's balance and spend, for the console.
    pub async fn provider_balances(&self) -> Result<Vec<BalanceReport>, ServiceError> {
        let mut reports = Vec::new();
        for provider in self.configured_providers() {
            reports.push(self.provider_balance(provider).await?);
        }
        Ok(reports)
    }
}

/// The gauge's value: an amount as Prometheus carries it (a float, for
/// display only; nothing is computed from it).
pub(crate) fn gauge_value(money: &Money) -> f64 {
    money.amount.to_f64().unwrap_or(f64::MAX)
}
