//! Console sign-in sessions, kept server-side so that every instance
//! sharing the database honours them and a sign-out ends them everywhere.

use chrono::{DateTime, Utc};

/// A signed-in console session. Only the SHA-256 of its token is kept: a
/// leaked database row cannot be replayed as a cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// Hex SHA-256 of the cookie's token.
    pub token_hash: String,
    /// Signed in with the operator key (sees every tenant) rather than a
    /// tenant's key.
    pub operator: bool,
    /// The tenant whose data the pages show: the signed-in tenant, or the
    /// one the operator picked (`None` until the operator picks one).
    pub tenant_id: Option<String>,
    /// The anti-forgery token every form of this session carries.
    pub csrf_token: String,
    /// When the session stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// What it was opened with: the hash of the tenant's API key, or the
    /// operator key's fingerprint. The session lives only while that
    /// credential would still sign in, so revoking it ends the session.
    pub credential: String,
}

/// Redacted: the CSRF token is a secret of the signed-in browser.
impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("operator", &self.operator)
            .field("tenant_id", &self.tenant_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
