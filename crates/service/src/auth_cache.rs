//! Who an API key belongs to, remembered for a few seconds so that a
//! request does not cost a database round trip to authenticate. Entries
//! are keyed by the key's SHA-256 (never the key itself), expire after the
//! configured TTL (how long another instance's rotation or disabling may
//! take to reach this one), and are dropped at once when this instance
//! rotates or disables the tenant. Unknown keys are remembered too, up to
//! a bound, so that a flood of guessed keys neither reaches the database
//! on every request nor grows memory without limit.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use simgate_domain::TenantId;
use simgate_domain::entities::Tenant;

use crate::{ServiceError, Services};

/// Most unknown keys remembered at once; past it, expired ones are
/// dropped, and when none has expired an unknown key is not remembered.
const MAX_UNKNOWN_KEYS: usize = 10_000;

/// The digest a key is remembered under.
type KeyDigest = [u8; 32];

/// Recent answers of the key lookup, by key digest.
pub(crate) struct AuthCache {
    ttl: Duration,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// `None`: no enabled tenant has this key.
    answers: HashMap<KeyDigest, (Option<Tenant>, Instant)>,
    unknown: usize,
    /// Moves on whenever keys are forgotten: an answer read before that is
    /// not remembered after it.
    generation: u64,
}

impl fmt::Debug for AuthCache {
    /// Sizes only: even digests of keys stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self
            .entries
            .lock()
            .map_or(0, |entries| entries.answers.len());
        f.debug_struct("AuthCache")
            .field("ttl", &self.ttl)
            .field("entries", &entries)
            .finish_non_exhaustive()
    }
}

impl AuthCache {
    /// A cache keeping answers for `ttl` (zero: nothing is kept).
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The remembered answer for `digest` if still fresh; otherwise the
    /// generation to pass to [`AuthCache::put`] with the store's answer.
    fn get(&self, digest: &KeyDigest) -> Result<Option<Tenant>, u64> {
        let entries = self.lock();
        match entries.answers.get(digest) {
            Some((tenant, at)) if at.elapsed() < self.ttl => Ok(tenant.clone()),
            _ => Err(entries.generation),
        }
    }

    /// Remembers an answer read from the store at `read_at`, unless keys
    /// were forgotten since `generation` (the answer may predate that).
    fn put(&self, digest: KeyDigest, tenant: Option<Tenant>, read_at: Instant, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.generation != generation {
            return;
        }
        if tenant.is_none() && entries.unknown >= MAX_UNKNOWN_KEYS {
            let ttl = self.ttl;
            entries.answers.retain(|_, (_, at)| at.elapsed() < ttl);
            entries.unknown = entries
                .answers
                .values()
                .filter(|(t, _)| t.is_none())
                .count();
            if entries.unknown >= MAX_UNKNOWN_KEYS {
                return;
            }
        }
        let unknown = tenant.is_none();
        let replaced = entries.answers.insert(digest, (tenant, read_at));
        let was_unknown = replaced.is_some_and(|(t, _)| t.is_none());
        match (was_unknown, unknown) {
            (false, true) => entries.unknown += 1,
            (true, false) => entries.unknown -= 1,
            _ => {}
        }
    }

    /// Forgets every key of `tenant`, and every unknown key (one of them
    /// may be the tenant's new key).
    fn forget_tenant(&self, tenant: &TenantId) {
        let mut entries = self.lock();
        entries.answers.retain(|_, (answer, _)| {
            answer
                .as_ref()
                .is_some_and(|known| known.id != tenant.as_str())
        });
        entries.unknown = 0;
        entries.generation += 1;
    }
}

fn digest(api_key: &str) -> KeyDigest {
    Sha256::digest(api_key.as_bytes()).into()
}

impl Services {
    /// The tenant an API key belongs to; `None` for an unknown key or a
    /// disabled tenant's key. Answers are remembered for the auth cache's
    /// TTL: a rotation or disabling on another instance is seen within it,
    /// one on this instance at once.
    pub async fn authenticate(&self, api_key: &str) -> Result<Option<Tenant>, ServiceError> {
        let digest = digest(api_key);
        let generation = match self.auth.get(&digest) {
            Ok(answer) => return Ok(answer),
            Err(generation) => generation,
        };
        // The read's start, not its end, dates the answer: a change
        // committed on another instance while it ran is at most one TTL late.
        let read_at = Instant::now();
        let tenant = self.store.tenant_by_api_key(api_key).await?;
        self.auth.put(digest, tenant.clone(), read_at, generation);
        Ok(tenant)
    }

    /// Drops what this instance remembers of a tenant's keys, after it
    /// changed them.
    pub(crate) fn forget_tenant_keys(&self, tenant: &TenantId) {
        self.auth.forget_tenant(tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> Tenant {
        Tenant {
            id: id.to_owned(),
            name: id.to_owned(),
        }
    }

    #[test]
    fn answers_expire_and_unknown_keys_are_bounded() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let id = TenantId::generate();
        cache.put(
            digest("known"),
            Some(tenant(id.as_str())),
            Instant::now(),
            0,
        );
        assert_eq!(cache.get(&digest("known")), Ok(Some(tenant(id.as_str()))));
        for n in 0..MAX_UNKNOWN_KEYS + 50 {
            cache.put(digest(&format!("guess-{n}")), None, Instant::now(), 0);
        }
        assert_eq!(cache.lock().answers.len(), MAX_UNKNOWN_KEYS + 1);
        assert_eq!(cache.get(&digest("guess-0")), Ok(None));
        let past_the_cap = digest(&format!("guess-{MAX_UNKNOWN_KEYS}"));
        assert_eq!(cache.get(&past_the_cap), Err(0));

        cache.forget_tenant(&id);
        assert_eq!(cache.get(&digest("known")), Err(1));
        assert!(cache.lock().answers.is_empty());
        // An answer read before the tenant's keys were forgotten is stale.
        cache.put(
            digest("known"),
            Some(tenant(id.as_str())),
            Instant::now(),
            0,
        );
        assert!(cache.lock().answers.is_empty());

        let expired = AuthCache::new(Duration::from_millis(1));
        let long_ago = Instant::now().checked_sub(Duration::from_secs(1)).unwrap();
        expired.put(digest("known"), Some(tenant(id.as_str())), long_ago, 0);
        assert_eq!(expired.get(&digest("known")), Err(0));
    }
}
