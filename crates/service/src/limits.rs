//! Rate limits: token buckets (governor's GCRA) that bound what one tenant,
//! or one unauthenticated address, can make simgate do, and how often a
//! flood of unverified provider webhooks can make it poll a provider.
//!
//! The buckets live in this instance's memory: each instance admits its own
//! share, so N instances behind a balancer admit up to N times a budget.
//! Sharing them through the database would cost a write per request, the
//! very load the limits are there to bound. The same holds for the bound on
//! simultaneous `?wait=` requests (a semaphore per tenant). What the
//! operator sets per tenant (overrides of the budgets) is stored, and so is
//! what is counted against a cap (webhook endpoints, replays of an event):
//! every instance applies the same overrides, and the caps hold across all.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use simgate_domain::{ProviderId, TenantId};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{ServiceError, Services};

pub use simgate_domain::limits::{Rate, TenantLimits};

/// The governor quota of a rate: at least one unit, over at least a second.
fn quota_of(rate: Rate) -> Quota {
    let burst = NonZeroU32::new(rate.quota).unwrap_or(NonZeroU32::MIN);
    let window = Duration::from_secs(u64::from(rate.window_secs.max(1)));
    Quota::with_period(window / burst.get())
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

/// The operator's limits (`[limits]`), the same for every tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Every authenticated API request of a tenant.
    pub requests: Rate,
    /// `POST /v1/orders` (and top-ups): each may buy from a provider.
    pub order_creations: Rate,
    /// SMS sends, which the provider bills.
    pub sms_sends: Rate,
    /// `GET /v1/sim-orders/{id}`, which asks the provider each time.
    pub sim_order_reads: Rate,
    /// Provider webhooks per client address (no key is needed to send one).
    pub webhooks_per_ip: Rate,
    /// Least time between two re-polls of a provider prompted by
    /// unverified webhooks, however many arrive.
    pub repoll_interval: Duration,
    /// Console sign-in attempts per client address: each may be a guess
    /// at a key.
    pub console_sign_ins_per_ip: Rate,
    /// `?wait=` requests of one tenant in flight at once on this instance:
    /// each reads the database ten times a second while it waits.
    pub max_waiting_requests: u32,
    /// Enabled webhook endpoints per tenant: each event is delivered to
    /// every one of them.
    pub max_webhook_endpoints: u32,
    /// Replays of one event: each sends it to every endpoint again.
    pub max_replays_per_event: u32,
}

impl Default for LimitsConfig {
    /// High enough that no legitimate client of one instance meets them;
    /// the costly operations get tighter budgets than plain reads.
    fn default() -> Self {
        Self {
            requests: Rate::new(2000, 1),
            order_creations: Rate::new(200, 1),
            sms_sends: Rate::new(60, 60),
            sim_order_reads: Rate::new(100, 1),
            webhooks_per_ip: Rate::new(500, 1),
            repoll_interval: Duration::from_secs(10),
            console_sign_ins_per_ip: Rate::new(10, 60),
            max_waiting_requests: 20,
            max_webhook_endpoints: 20,
            max_replays_per_event: 10,
        }
    }
}

/// Which of a tenant's budgets an operation spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    Requests,
    OrderCreations,
    SmsSends,
    SimOrderReads,
}

/// A refused call: which policy, its quota and when to come back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("over the {policy} rate limit ({quota} per {window_secs} s); retry in {} s", retry_after_secs(*.retry_after))]
pub struct RateLimited {
    /// The policy's name in `RateLimit-Policy` and `RateLimit`.
    pub policy: &'static str,
    pub quota: u32,
    pub window_secs: u32,
    /// Until the next unit is free.
    pub retry_after: Duration,
}

/// Whole seconds to wait, at least one (what `Retry-After` carries).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// How many checks pass between two sweeps of idle keys, so a bucket
/// keyed by client address does not grow without bound.
const SWEEP_EVERY: u64 = 4096;

/// One keyed token bucket and the policy it enforces.
struct Bucket<K: Hash + Eq + Clone> {
    policy: &'static str,
    rate: Rate,
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn new(policy: &'static str, rate: Rate) -> Self {
        Self {
            policy,
            rate,
            limiter: RateLimiter::keyed(quota_of(rate)),
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one unit for `key`, or says when one will be free.
    fn check(&self, key: &K) -> Result<(), RateLimited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| RateLimited {
                policy: self.policy,
                quota: self.rate.quota,
                window_secs: self.rate.window_secs,
                retry_after: not_until.wait_time_from(self.limiter.clock().now()),
            })
    }
}

/// The bucket of one tenant's overridden budget: one key, its own rate.
type OverrideBucket = Arc<Bucket<()>>;

/// Every bucket of this instance.
pub(crate) struct Limiters {
    requests: Bucket<String>,
    order_creations: Bucket<String>,
    sms_sends: Bucket<String>,
    sim_order_reads: Bucket<String>,
    webhooks_per_ip: Bucket<IpAddr>,
    console_sign_ins_per_ip: Bucket<IpAddr>,
    /// One re-poll per provider per interval.
    repolls: Bucket<&'static str>,
    /// A bucket of its own for each budget the operator overrode for a
    /// tenant, replaced when the override changes. Bounded by the tenants.
    overridden: Mutex<HashMap<(String, Budget), OverrideBucket>>,
    /// Each tenant's `?wait=` requests in flight. Bounded by the tenants.
    waiting: Mutex<HashMap<String, Arc<Semaphore>>>,
    max_waiting: u32,
}

impl Limiters {
    pub(crate) fn new(config: &LimitsConfig) -> Self {
        let interval = u32::try_from(config.repoll_interval.as_secs()).unwrap_or(u32::MAX);
        Self {
            requests: Bucket::new("tenant", config.requests),
            order_creations: Bucket::new("orders", config.order_creations),
            sms_sends: Bucket::new("sms", config.sms_sends),
            sim_order_reads: Bucket::new("sim-order-reads", config.sim_order_reads),
            webhooks_per_ip: Bucket::new("webhooks-per-ip", config.webhooks_per_ip),
            console_sign_ins_per_ip: Bucket::new(
                "console-sign-ins-per-ip",
                config.console_sign_ins_per_ip,
            ),
            repolls: Bucket::new("repolls", Rate::new(1, interval)),
            overridden: Mutex::default(),
            waiting: Mutex::default(),
            max_waiting: config.max_waiting_requests.max(1),
        }
    }

    fn default_bucket(&self, budget: Budget) -> &Bucket<String> {
        match budget {
            Budget::Requests => &self.requests,
            Budget::OrderCreations => &self.order_creations,
            Budget::SmsSends => &self.sms_sends,
            Budget::SimOrderReads => &self.sim_order_reads,
        }
    }

    /// Takes one unit of the tenant's `budget`: from its own bucket when
    /// the operator set it a rate apart, else from the shared default one.
    fn spend(
        &self,
        tenant_id: &str,
        budget: Budget,
        rate: Option<Rate>,
    ) -> Result<(), RateLimited> {
        let default = self.default_bucket(budget);
        let Some(rate) = rate.filter(|rate| *rate != default.rate) else {
            return default.check(&tenant_id.to_owned());
        };
        let bucket = {
            let mut overridden = self
                .overridden
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let bucket = overridden
                .entry((tenant_id.to_owned(), budget))
                .or_insert_with(|| Arc::new(Bucket::new(default.policy, rate)));
            if bucket.rate != rate {
                *bucket = Arc::new(Bucket::new(default.policy, rate));
            }
            bucket.clone()
        };
        bucket.check(&())
    }

    /// The semaphore bounding the tenant's waiting requests.
    fn waiting(&self, tenant_id: &str) -> Arc<Semaphore> {
        let mut waiting = self
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        waiting
            .entry(tenant_id.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.max_waiting as usize)))
            .clone()
    }
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").finish_non_exhaustive()
    }
}

/// The operator's rate for `budget` in a tenant's overrides, if any.
fn override_of(limits: &TenantLimits, budget: Budget) -> Option<Rate> {
    match budget {
        Budget::Requests => limits.requests,
        Budget::OrderCreations => limits.order_creations,
        Budget::SmsSends => limits.sms_sends,
        Budget::SimOrderReads => limits.sim_order_reads,
    }
}

impl Services {
    /// Spends one unit of the tenant's `budget` (at the rate the operator
    /// set for the tenant, if any); a 429 `rate_limited` for the caller
    /// when it is empty.
    pub async fn spend(&self, tenant_id: &str, budget: Budget) -> Result<(), ServiceError> {
        let tenant = TenantId::from_stored(tenant_id.to_owned());
        let rate = self
            .cached_limits(&tenant)
            .await?
            .and_then(|limits| override_of(&limits, budget));
        self.limiters
            .spend(tenant_id, budget, rate)
            .map_err(ServiceError::RateLimited)
    }

    /// A place among the tenant's `?wait=` requests, held until the
    /// answer; a 429 when `max_waiting_requests` of them already wait here.
    pub fn admit_waiting(&self, tenant_id: &str) -> Result<OwnedSemaphorePermit, ServiceError> {
        self.limiters
            .waiting(tenant_id)
            .try_acquire_owned()
            .map_err(|_| ServiceError::TooManyWaiting {
                max: self.limiters.max_waiting,
            })
    }

    /// Spends one unit of the webhook budget of the address a provider
    /// webhook came from (it needs no key, so the address is all there is).
    pub fn admit_webhook_from(&self, ip: IpAddr) -> Result<(), ServiceError> {
        self.limiters
            .webhooks_per_ip
            .check(&ip)
            .map_err(ServiceError::RateLimited)
    }

    /// Spends one unit of the sign-in budget of the address a console
    /// sign-in came from, so that keys cannot be guessed at speed.
    pub fn admit_console_sign_in_from(&self, ip: IpAddr) -> Result<(), ServiceError> {
        self.limiters
            .console_sign_ins_per_ip
            .check(&ip)
            .map_err(ServiceError::RateLimited)
    }

    /// Whether a re-poll of `provider` may start now: true at most once per
    /// `repoll_interval`.
    pub(crate) fn repoll_due(&self, provider: ProviderId) -> bool {
        self.limiters.repolls.check(&provider.as_str()).is_ok()
    }

    /// The operator's overrides of a tenant's budgets (each `None`: the
    /// default).
    pub async fn tenant_limits(&self, id: &TenantId) -> Result<TenantLimits, ServiceError> {
        self.tenant_account(id).await?;
        Ok(self.store.tenant_limits(id).await?.unwrap_or_default())
    }

    /// Replaces a tenant's budget overrides once each rate is usable. This
    /// instance applies them at once, the others within the settings'
    /// recheck interval.
    pub async fn set_tenant_limits(
        &self,
        id: &TenantId,
        limits: TenantLimits,
    ) -> Result<TenantLimits, ServiceError> {
        limits.validate()?;
        self.tenant_account(id).await?;
        self.store.put_tenant_limits(id, &limits).await?;
        self.forget_limits(id);
        tracing::info!(tenant = %id, "tenant limits set");
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_admits_its_quota_then_says_when_to_return() {
        let bucket = Bucket::new("tenant", Rate::new(3, 60));
        let key = "ten_a".to_owned();
        for _ in 0..3 {
            assert!(bucket.check(&key).is_ok());
        }
        let refused = bucket.check(&key).unwrap_err();
        assert_eq!(refused.policy, "tenant");
        assert_eq!((refused.quota, refused.window_secs), (3, 60));
        assert!(refused.retry_after > Duration::from_secs(15));
        assert!(refused.retry_after <= Duration::from_secs(20));
        assert!(bucket.check(&"ten_b".to_owned()).is_ok(), "keys are apart");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::from_millis(3001)), 4);
    }
}
