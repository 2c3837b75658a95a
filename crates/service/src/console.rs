//! Use cases of the operator console: its sign-in sessions, and the order
//! search and order history its pages need beyond the API's.
//!
//! A session is a random 256-bit token in the browser's cookie; the store
//! keeps only its SHA-256 (tokens are random, so a fast hash suffices), so
//! every instance on the database honours it and sign-out ends it
//! everywhere.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use simgate_domain::entities::{ConsoleSession, HourlyOrders, OrderQuery, OrderRecord};
use simgate_domain::{OrderId, OrderStatus, PageRequest, ProviderId, TenantId};

use crate::{EventWithDeliveries, ServiceError, Services};

/// Who signs in to the console, and with what: the session lives only
/// while that credential does.
#[derive(Debug, Clone)]
pub enum ConsoleRole {
    /// The operator key, by its fingerprint: every tenant, one at a time.
    Operator { fingerprint: String },
    /// A tenant's key, by its hash as the store keeps it: that tenant only,
    /// while the key is still its and the tenant enabled.
    Tenant { tenant_id: String, key_hash: String },
}

impl ConsoleRole {
    /// A tenant signing in with `api_key` (which is hashed, never kept),
    /// by the hex SHA-256 the store keeps API keys under.
    pub fn tenant(tenant_id: String, api_key: &str) -> Self {
        Self::Tenant {
            tenant_id,
            key_hash: hex::encode(Sha256::digest(api_key.as_bytes())),
        }
    }
}

/// A new session: its token goes into the cookie once and is never stored.
#[derive(Debug)]
pub struct SessionGrant {
    pub token: SecretString,
    pub session: ConsoleSession,
}

/// What the orders page filters on; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct OrderSearch {
    pub status: Option<OrderStatus>,
    pub provider: Option<ProviderId>,
    /// Part of the order id, idempotency key, provider reference, product
    /// or offer id, or of an ICCID.
    pub text: Option<String>,
}

/// A random 256-bit token in hex.
fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// What the store keys a session by.
pub fn session_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Services {
    /// Opens a console session for `role`, valid for `lifetime`.
    pub async fn open_console_session(
        &self,
        role: ConsoleRole,
        lifetime: std::time::Duration,
    ) -> Result<SessionGrant, ServiceError> {
        let now = Utc::now();
        let lifetime = Duration::from_std(lifetime).unwrap_or(Duration::hours(12));
        let token = random_token();
        let (operator, tenant_id, credential) = match role {
            ConsoleRole::Operator { fingerprint } => (true, None, fingerprint),
            ConsoleRole::Tenant {
                tenant_id,
                key_hash,
            } => (false, Some(tenant_id), key_hash),
        };
        let session = ConsoleSession {
            token_hash: session_token_hash(&token),
            operator,
            tenant_id,
            csrf_token: random_token(),
            expires_at: now + lifetime,
            credential,
        };
        self.store.insert_session(&session, now).await?;
        Ok(SessionGrant {
            token: SecretString::from(token),
            session,
        })
    }

    /// The live session a cookie token names, if any: unexpired, and
    /// opened with a credential that still signs in. Read from the store on
    /// every request (never cached), so a disabled tenant, a rotated key or
    /// another `operator_fingerprint` ends it on every instance at once.
    pub async fn console_session(
        &self,
        token: &SecretString,
        operator_fingerprint: Option<&str>,
    ) -> Result<Option<ConsoleSession>, ServiceError> {
        let hash = session_token_hash(token.expose_secret());
        Ok(self
            .store
            .session(&hash, Utc::now(), operator_fingerprint)
            .await?)
    }

    /// Ends a session.
    pub async fn close_console_session(
        &self,
        session: &ConsoleSession,
    ) -> Result<(), ServiceError> {
        Ok(self.store.delete_session(&session.token_hash).await?)
    }

    /// Points an operator's session at another (existing) tenant. A
    /// tenant's session never moves: that is a 404 like any other tenant's
    /// data.
    pub async fn switch_console_tenant(
        &self,
        session: &ConsoleSession,
        tenant_id: &str,
    ) -> Result<(), ServiceError> {
        let exists = self.store.tenant(tenant_id).await?.is_some();
        if !session.operator || !exists {
            return Err(ServiceError::TenantNotFound(tenant_id.to_owned()));
        }
        Ok(self
            .store
            .set_session_tenant(&session.token_hash, tenant_id)
            .await?)
    }

    /// A page of a tenant's orders matching `search`, newest first (page
    /// numbers from 1, `size` orders each), with how many match in all:
    /// searched in the store, so an order is found however old it is.
    pub async fn search_orders(
        &self,
        tenant_id: &str,
        search: &OrderSearch,
        page: PageRequest,
    ) -> Result<(Vec<OrderRecord>, u64), ServiceError> {
        let query = OrderQuery {
            status: search.status,
            provider: search.provider,
            text: search.text.clone(),
            limit: page.size,
            offset: (page.number - 1).saturating_mul(page.size),
        };
        Ok(self.store.search_orders(tenant_id, &query).await?)
    }

    /// The tenant's events about one of its orders, oldest first, each
    /// with its deliveries.
    pub async fn order_events(
        &self,
        tenant_id: &TenantId,
        order_id: &OrderId,
    ) -> Result<Vec<EventWithDeliveries>, ServiceError> {
        let events = self
            .store
            .events_for_order(tenant_id.as_str(), order_id)
            .await?;
        let mut found = Vec::with_capacity(events.len());
        for event in events {
            found.push(self.with_deliveries(event).await?);
        }
        Ok(found)
    }

    /// A tenant's orders created since `since`, counted and summed per
    /// hour, status and currency by the store, for the dashboard.
    pub async fn hourly_orders(
        &self,
        tenant_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<HourlyOrders>, ServiceError> {
        Ok(self.store.hourly_orders(tenant_id, since).await?)
    }
}
