//! Use cases of the operator console: its sign-in sessions and the order
//! search its pages need beyond the API's.
//!
//! A session is a random 256-bit token in the browser's cookie; the store
//! keeps only its SHA-256 (tokens are random, so a fast hash suffices), so
//! every instance on the database honours it and sign-out ends it
//! everywhere.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use simgate_domain::entities::{ConsoleSession, OrderRecord};
use simgate_domain::{OrderId, OrderStatus, ProviderId};

use crate::{ServiceError, Services};

/// Most orders one console search reads while filtering, so a search
/// matching nothing in a large account stays a bounded read.
const MAX_SCANNED_ORDERS: usize = 5000;

/// Orders read per batch while filtering.
const SCAN_BATCH: u32 = 200;

/// Who signs in to the console.
#[derive(Debug, Clone)]
pub enum ConsoleRole {
    /// The operator key: every tenant, one at a time.
    Operator,
    /// A tenant's key: that tenant only.
    Tenant(String),
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
    /// Part of the order id, an ICCID or the upstream reference.
    pub text: Option<String>,
}

impl OrderSearch {
    fn matches(&self, order: &OrderRecord) -> bool {
        if self.provider.is_some_and(|p| order.provider() != p) {
            return false;
        }
        let Some(text) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return true;
        };
        let text = text.to_ascii_lowercase();
        order.id.to_string().to_ascii_lowercase().contains(&text)
            || order
                .upstream_ref
                .as_deref()
                .is_some_and(|r| r.to_ascii_lowercase().contains(&text))
            || order.iccids.iter().any(|i| i.to_string().contains(&text))
    }
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
        let (operator, tenant_id) = match role {
            ConsoleRole::Operator => (true, None),
            ConsoleRole::Tenant(id) => (false, Some(id)),
        };
        let session = ConsoleSession {
            token_hash: session_token_hash(&token),
            operator,
            tenant_id,
            csrf_token: random_token(),
            expires_at: now + lifetime,
        };
        self.store.insert_session(&session, now).await?;
        Ok(SessionGrant {
            token: SecretString::from(token),
            session,
        })
    }

    /// The live session a cookie token names, if any.
    pub async fn console_session(
        &self,
        token: &SecretString,
    ) -> Result<Option<ConsoleSession>, ServiceError> {
        let hash = session_token_hash(token.expose_secret());
        Ok(self.store.session(&hash, Utc::now()).await?)
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

    /// A page of a tenant's orders matching `search`, newest first, older
    /// than `before`; at most `limit`, and whether more match after them.
    /// Reads at most [`MAX_SCANNED_ORDERS`] orders while filtering.
    pub async fn search_orders(
        &self,
        tenant_id: &str,
        search: &OrderSearch,
        before: Option<&OrderId>,
        limit: u32,
    ) -> Result<(Vec<OrderRecord>, bool), ServiceError> {
        let wanted = limit as usize;
        let mut found = Vec::new();
        let mut cursor = before.cloned();
        let mut scanned = 0;
        loop {
            let batch = self
                .orders(tenant_id, search.status, cursor.as_ref(), SCAN_BATCH)
                .await?;
            let exhausted = batch.len() < SCAN_BATCH as usize;
            scanned += batch.len();
            cursor = batch.last().map(|o| o.id.clone());
            found.extend(batch.into_iter().filter(|o| search.matches(o)));
            if found.len() > wanted || exhausted || scanned >= MAX_SCANNED_ORDERS {
                break;
            }
        }
        let more = found.len() > wanted;
        found.truncate(wanted);
        Ok((found, more))
    }

    /// A tenant's orders created since `since`, newest first, for the
    /// dashboard's charts (bounded like [`Self::search_orders`]).
    pub async fn orders_since(
        &self,
        tenant_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<OrderRecord>, ServiceError> {
        let mut found = Vec::new();
        let mut cursor: Option<OrderId> = None;
        loop {
            let batch = self
                .orders(tenant_id, None, cursor.as_ref(), SCAN_BATCH)
                .await?;
            let exhausted = batch.len() < SCAN_BATCH as usize;
            cursor = batch.last().map(|o| o.id.clone());
            let before_window = batch.iter().any(|o| o.created_at < since);
            found.extend(batch.into_iter().filter(|o| o.created_at >= since));
            if exhausted || before_window || found.len() >= MAX_SCANNED_ORDERS {
                break;
            }
        }
        Ok(found)
    }
}
