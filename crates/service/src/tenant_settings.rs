//! Each tenant's pricing rules, routing policy and limit overrides,
//! remembered for a few seconds so that a search, an order or a request's
//! budget does not cost a database round trip to read them. It works like the auth cache: an answer is
//! trusted for [`SETTINGS_RECHECK`] (how late another instance's change may
//! be seen here) and dropped at once when this instance stores a new one;
//! an answer read before such a drop is never remembered after it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use simgate_domain::TenantId;
use simgate_domain::limits::TenantLimits;
use simgate_domain::orchestration::{PricingRules, RoutingPolicy};

use crate::pricing::FX_RECHECK;
use crate::{ServiceError, Services};

/// How long an instance trusts a tenant's cached settings before reading
/// them again: the same bound as the FX table's, so a change made on one
/// instance reaches every other one within the same few seconds.
const SETTINGS_RECHECK: Duration = FX_RECHECK;

/// Most tenants remembered at once; past it, expired answers are dropped,
/// and when none has expired a new answer is not remembered. Only
/// authenticated tenants are looked up, so this bounds memory, not traffic.
const MAX_TENANTS: usize = 10_000;

/// One kind of tenant setting, as last read per tenant.
#[derive(Debug)]
pub(crate) struct SettingsCache<T> {
    entries: Mutex<Entries<T>>,
}

#[derive(Debug)]
struct Entries<T> {
    /// `None`: the tenant has set none.
    answers: HashMap<String, (Option<Arc<T>>, Instant)>,
    /// Moves on whenever an answer is dropped for a change: an answer read
    /// before that is not remembered after it.
    generation: u64,
}

impl<T> Default for SettingsCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(Entries {
                answers: HashMap::new(),
                generation: 0,
            }),
        }
    }
}

impl<T: PartialEq> SettingsCache<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<T>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The remembered answer for `tenant` if still fresh; otherwise the
    /// generation to pass to [`SettingsCache::put`] with the store's answer.
    fn get(&self, tenant: &TenantId) -> Result<Option<Arc<T>>, u64> {
        let entries = self.lock();
        match entries.answers.get(tenant.as_str()) {
            Some((answer, at)) if at.elapsed() < SETTINGS_RECHECK => Ok(answer.clone()),
            _ => Err(entries.generation),
        }
    }

    /// Remembers an answer read from the store at `read_at`, unless an
    /// answer was dropped since `generation`. An answer equal to the one
    /// remembered keeps the remembered `Arc`, so that what is derived from
    /// it (price orders) is recognised as still current. Returns the answer
    /// to use.
    fn put(
        &self,
        tenant: &TenantId,
        answer: Option<T>,
        read_at: Instant,
        generation: u64,
    ) -> Option<Arc<T>> {
        let mut entries = self.lock();
        let answer = match (entries.answers.get(tenant.as_str()), answer) {
            (Some((Some(known), _)), Some(read)) if **known == read => Some(known.clone()),
            (_, read) => read.map(Arc::new),
        };
        if entries.generation != generation {
            return answer;
        }
        if entries.answers.len() >= MAX_TENANTS && !entries.answers.contains_key(tenant.as_str()) {
            entries
                .answers
                .retain(|_, (_, at)| at.elapsed() < SETTINGS_RECHECK);
            if entries.answers.len() >= MAX_TENANTS {
                return answer;
            }
        }
        entries
            .answers
            .insert(tenant.as_str().to_owned(), (answer.clone(), read_at));
        answer
    }

    /// Drops what is remembered of `tenant`, after this instance changed it.
    fn forget(&self, tenant: &TenantId) {
        let mut entries = self.lock();
        entries.answers.remove(tenant.as_str());
        entries.generation += 1;
    }
}

/// The cached settings of every tenant.
#[derive(Debug, Default)]
pub(crate) struct TenantSettings {
    pricing: SettingsCache<PricingRules>,
    routing: SettingsCache<RoutingPolicy>,
    limits: SettingsCache<TenantLimits>,
}

impl Services {
    /// The tenant's pricing rules (`None`: it sells at cost), as cached.
    pub(crate) async fn cached_pricing(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Arc<PricingRules>>, ServiceError> {
        let cache = &self.settings.pricing;
        let generation = match cache.get(tenant) {
            Ok(answer) => return Ok(answer),
            Err(generation) => generation,
        };
        // The read's start dates the answer, as in the auth cache.
        let read_at = Instant::now();
        let rules = self.store.pricing_rules(tenant).await?;
        Ok(cache.put(tenant, rules, read_at, generation))
    }

    /// The tenant's stored routing policy (`None`: the default), as cached.
    pub(crate) async fn cached_routing(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Arc<RoutingPolicy>>, ServiceError> {
        let cache = &self.settings.routing;
        let generation = match cache.get(tenant) {
            Ok(answer) => return Ok(answer),
            Err(generation) => generation,
        };
        let read_at = Instant::now();
        let policy = self.store.routing_policy(tenant).await?;
        Ok(cache.put(tenant, policy, read_at, generation))
    }

    /// The operator's overrides of the tenant's budgets (`None`: the
    /// defaults), as cached: every authenticated request reads them.
    pub(crate) async fn cached_limits(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Arc<TenantLimits>>, ServiceError> {
        let cache = &self.settings.limits;
        let generation = match cache.get(tenant) {
            Ok(answer) => return Ok(answer),
            Err(generation) => generation,
        };
        let read_at = Instant::now();
        let limits = self.store.tenant_limits(tenant).await?;
        Ok(cache.put(tenant, limits, read_at, generation))
    }

    /// Drops this instance's copy of the tenant's limit overrides, after it
    /// stored new ones.
    pub(crate) fn forget_limits(&self, tenant: &TenantId) {
        self.settings.limits.forget(tenant);
    }

    /// Drops this instance's copy of the tenant's pricing rules, after it
    /// stored new ones.
    pub(crate) fn forget_pricing(&self, tenant: &TenantId) {
        self.settings.pricing.forget(tenant);
    }

    /// Drops this instance's copy of the tenant's routing policy, after it
    /// stored a new one.
    pub(crate) fn forget_routing(&self, tenant: &TenantId) {
        self.settings.routing.forget(tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_keep_their_arc_when_unchanged_and_a_change_wins() {
        let cache = SettingsCache::<String>::default();
        let tenant = TenantId::generate();
        let first = cache.put(&tenant, Some("a".to_owned()), Instant::now(), 0);
        assert_eq!(cache.get(&tenant), Ok(first.clone()));

        // Read again with the same content: the same Arc.
        let again = cache.put(&tenant, Some("a".to_owned()), Instant::now(), 0);
        assert!(Arc::ptr_eq(
            first.as_ref().unwrap(),
            again.as_ref().unwrap()
        ));

        // A change on this instance drops it, and a read begun before the
        // change is not remembered.
        cache.forget(&tenant);
        assert_eq!(cache.get(&tenant), Err(1));
        cache.put(&tenant, Some("a".to_owned()), Instant::now(), 0);
        assert_eq!(cache.get(&tenant), Err(1));
        cache.put(&tenant, Some("b".to_owned()), Instant::now(), 1);
        assert_eq!(cache.get(&tenant), Ok(Some(Arc::new("b".to_owned()))));

        // An answer older than the recheck interval is read again.
        let long_ago = Instant::now()
            .checked_sub(SETTINGS_RECHECK + Duration::from_millis(1))
            .unwrap();
        cache.put(&tenant, None, long_ago, 1);
        assert_eq!(cache.get(&tenant), Err(1));
    }
}
