//! Tenant administration: the operator creates tenants, lists them, rotates
//! their keys and disables them. Each request looks its key up in the store,
//! so a rotated or disabled key is refused at once by every instance.

use chrono::Utc;
use rand::Rng;
use secrecy::SecretString;
use simgate_domain::TenantId;
use simgate_domain::entities::{RepositoryError, Tenant, TenantAccount};

use crate::{ServiceError, Services};

/// Longest tenant name: a label for people, not a document.
pub const MAX_TENANT_NAME_CHARS: usize = 100;

/// A tenant's fresh API key, to be shown once: only its hash is stored.
#[derive(Debug)]
pub struct IssuedKey {
    pub tenant: TenantAccount,
    pub api_key: SecretString,
}

/// A new random tenant API key: `sk_live_` and 256 random bits in hex.
pub fn new_api_key() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("sk_live_{}", hex::encode(bytes))
}

/// The tenant a caller names (an operator's URL, the CLI): an id that
/// cannot be a tenant's is answered like an unknown one.
pub fn tenant_id(raw: &str) -> Result<TenantId, ServiceError> {
    TenantId::parse(raw).map_err(|_| ServiceError::TenantNotFound(raw.to_owned()))
}

/// A tenant name as stored: trimmed, non-empty, printable and not too long.
pub fn tenant_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    let invalid = |why: &str| Err(ServiceError::InvalidTenantName(why.to_owned()));
    if name.is_empty() {
        return invalid("a tenant name must not be empty");
    }
    if name.chars().count() > MAX_TENANT_NAME_CHARS {
        return invalid(&format!(
            "a tenant name is at most {MAX_TENANT_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return invalid("a tenant name must not contain control characters");
    }
    Ok(name.to_owned())
}

impl Services {
    /// Every tenant, oldest first.
    pub async fn list_tenants(&self) -> Result<Vec<TenantAccount>, ServiceError> {
        Ok(self.store.tenant_accounts().await?)
    }

    /// One tenant by id, e.g. to show its name rather than its id.
    pub async fn tenant(&self, id: &str) -> Result<Tenant, ServiceError> {
        self.store
            .tenant(id)
            .await?
            .ok_or_else(|| ServiceError::TenantNotFound(id.to_owned()))
    }

    /// Creates a tenant under a unique name and issues its first key.
    pub async fn create_tenant(&self, name: &str) -> Result<IssuedKey, ServiceError> {
        let name = tenant_name(name)?;
        let id = TenantId::generate();
        match self.store.create_tenant(id.as_str(), &name).await {
            Err(RepositoryError::Taken(_)) => return Err(ServiceError::TenantNameTaken(name)),
            other => other?,
        };
        let key = new_api_key();
        self.store.add_api_key(id.as_str(), &key).await?;
        self.forget_tenant_keys(&id);
        tracing::info!(tenant = %id, "tenant created");
        self.issued(&id, key).await
    }

    /// Replaces every key of an enabled tenant by a new one; the old keys
    /// are refused from now on.
    pub async fn rotate_tenant_key(&self, id: &TenantId) -> Result<IssuedKey, ServiceError> {
        let account = self.tenant_account(id).await?;
        if account.disabled_at.is_some() {
            return Err(ServiceError::TenantDisabled(account.id));
        }
        let key = new_api_key();
        if !self.store.replace_api_keys(id.as_str(), &key).await? {
            return Err(ServiceError::TenantNotFound(id.to_string()));
        }
        self.forget_tenant_keys(id);
        tracing::info!(tenant = %id, "tenant key rotated");
        self.issued(id, key).await
    }

    /// Disables a tenant: its keys are refused from now on. Its orders,
    /// eSIMs and lines stay, for the operator's records.
    pub async fn disable_tenant(&self, id: &TenantId) -> Result<TenantAccount, ServiceError> {
        if !self.store.disable_tenant(id.as_str(), Utc::now()).await? {
            return Err(ServiceError::TenantNotFound(id.to_string()));
        }
        self.forget_tenant_keys(id);
        tracing::info!(tenant = %id, "tenant disabled");
        self.tenant_account(id).await
    }

    pub(crate) async fn tenant_account(
        &self,
        id: &TenantId,
    ) -> Result<TenantAccount, ServiceError> {
        self.store
            .tenant_account(id.as_str())
            .await?
            .ok_or_else(|| ServiceError::TenantNotFound(id.to_string()))
    }

    async fn issued(&self, id: &TenantId, key: String) -> Result<IssuedKey, ServiceError> {
        Ok(IssuedKey {
            tenant: self.tenant_account(id).await?,
            api_key: SecretString::from(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_say_something() {
        assert_eq!(tenant_name("  Acme Travel ").unwrap(), "Acme Travel");
        for bad in [
            "",
            "   ",
            "tab\there",
            &"x".repeat(MAX_TENANT_NAME_CHARS + 1),
        ] {
            assert!(
                matches!(tenant_name(bad), Err(ServiceError::InvalidTenantName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keys_are_long_and_fresh() {
        let (a, b) = (new_api_key(), new_api_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), "sk_live_".len() + 64);
    }
}
