//! The operator's keys that seal webhook endpoint secrets at rest
//! (XChaCha20-Poly1305: a random 192-bit nonce per secret, so nonces never
//! repeat in practice however many secrets one key seals).
//!
//! Keys are named: each sealed secret records the id of the key that sealed
//! it, the current key seals, and every configured key opens. Changing the
//! key is therefore adding a new one, making it current and restarting
//! (each start re-seals what another key sealed), then removing the old.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use simgate_domain::entities::{SealedSecret, StoredSecret};

/// Bytes of a key (256 bits).
pub const KEY_BYTES: usize = 32;

/// Why the configured keys cannot be used. Names key ids, never key bytes.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    /// A key id is blank (a row's key id must name a key).
    #[error("[webhooks] secret_keys: a key id is blank")]
    BlankKeyId,
    /// A key is not base64.
    #[error("[webhooks] secret_keys.{0} is not base64")]
    NotBase64(String),
    /// A key is not 32 bytes.
    #[error(
        "[webhooks] secret_keys.{id} is {len} bytes, not {KEY_BYTES} (generate one with `openssl rand -base64 32`)"
    )]
    WrongLength { id: String, len: usize },
    /// The current key id names no configured key.
    #[error("[webhooks] secret_key_id = {0:?} names no key of [webhooks] secret_keys")]
    UnknownCurrent(String),
    /// Keys are configured but none is current.
    #[error(
        "[webhooks] secret_keys is set but secret_key_id is not: name the key that seals new secrets"
    )]
    NoCurrent,
}

/// Why a stored secret could not be opened. Names key ids, never secrets.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OpenError {
    /// Sealed under a key that is not configured (removed too early, or
    /// this instance's configuration is behind another's).
    #[error("it is sealed under key {0:?}, which is not in [webhooks] secret_keys")]
    UnknownKey(String),
    /// The key is there but the ciphertext does not authenticate under it
    /// (a damaged row, or a different key under the same id).
    #[error(
        "it does not open under key {0:?}: the row is damaged or the key is not the one that sealed it"
    )]
    Damaged(String),
    /// Plain text from before secrets were sealed, with no key configured
    /// (simgate refuses to start so, but a row may be written meanwhile).
    #[error("no [webhooks] secret_keys are configured")]
    NoKeys,
}

/// The configured keys, by id, and which one seals. `Debug` shows ids only.
#[derive(Clone)]
pub struct SecretKeys {
    current: String,
    keys: BTreeMap<String, XChaCha20Poly1305>,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKeys")
            .field("current", &self.current)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretKeys {
    /// The keys as configured (base64 of 32 bytes each), `current` sealing.
    pub fn new(
        current: &str,
        keys: &BTreeMap<String, SecretString>,
    ) -> Result<Self, SecretKeyError> {
        let mut ciphers = BTreeMap::new();
        for (id, key) in keys {
            if id.trim().is_empty() {
                return Err(SecretKeyError::BlankKeyId);
            }
            let bytes = BASE64
                .decode(key.expose_secret().trim())
                .map_err(|_| SecretKeyError::NotBase64(id.clone()))?;
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| {
                SecretKeyError::WrongLength {
                    id: id.clone(),
                    len: bytes.len(),
                }
            })?;
            ciphers.insert(id.clone(), cipher);
        }
        if !ciphers.contains_key(current) {
            return Err(SecretKeyError::UnknownCurrent(current.to_owned()));
        }
        Ok(Self {
            current: current.to_owned(),
            keys: ciphers,
        })
    }

    /// From optional settings: no keys and no current id is `None` (no
    /// key configured); anything else must be a usable set.
    pub fn from_settings(
        current: Option<&str>,
        keys: &BTreeMap<String, SecretString>,
    ) -> Result<Option<Self>, SecretKeyError> {
        match current {
            None if keys.is_empty() => Ok(None),
            None => Err(SecretKeyError::NoCurrent),
            Some(current) => Self::new(current, keys).map(Some),
        }
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.current
    }

    /// Seals a secret under the current key with a fresh random nonce.
    pub fn seal(&self, secret: &SecretString) -> SealedSecret {
        let nonce_bytes: [u8; 24] = rand::rng().random();
        let nonce = XNonce::from(nonce_bytes);
        let cipher = self
            .keys
            .get(&self.current)
            .expect("the current key is one of the keys: checked in SecretKeys::new");
        let ciphertext = cipher
            .encrypt(&nonce, secret.expose_secret().as_bytes())
            .expect("XChaCha20-Poly1305 seals any message shorter than 256 GiB");
        SealedSecret {
            key_id: self.current.clone(),
            nonce: BASE64.encode(nonce_bytes),
            ciphertext: BASE64.encode(ciphertext),
        }
    }

    /// Opens a sealed secret with whichever configured key sealed it.
    pub fn open(&self, sealed: &SealedSecret) -> Result<SecretString, OpenError> {
        let cipher = self
            .keys
            .get(&sealed.key_id)
            .ok_or_else(|| OpenError::UnknownKey(sealed.key_id.clone()))?;
        let damaged = || OpenError::Damaged(sealed.key_id.clone());
        let nonce = BASE64.decode(&sealed.nonce).map_err(|_| damaged())?;
        let nonce = XNonce::try_from(nonce.as_slice()).map_err(|_| damaged())?;
        let ciphertext = BASE64.decode(&sealed.ciphertext).map_err(|_| damaged())?;
        let plain = cipher
            .decrypt(&nonce, ciphertext.as_slice())
            .map_err(|_| damaged())?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| damaged())
    }
}

/// Opens a stored secret: a sealed one with `keys`, a legacy one as it is.
pub fn open_stored(
    keys: Option<&SecretKeys>,
    stored: &StoredSecret,
) -> Result<SecretString, OpenError> {
    match stored {
        StoredSecret::Legacy(plain) => Ok(SecretString::from(plain.clone())),
        StoredSecret::Sealed(sealed) => keys.ok_or(OpenError::NoKeys)?.open(sealed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: &str, ids: &[(&str, u8)]) -> SecretKeys {
        let keys = ids
            .iter()
            .map(|(id, byte)| {
                (
                    (*id).to_owned(),
                    SecretString::from(BASE64.encode([*byte; KEY_BYTES])),
                )
            })
            .collect();
        SecretKeys::new(current, &keys).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_under_any_listed_key_and_hides_the_secret() {
        let old = keys("k1", &[("k1", 1)]);
        let secret = SecretString::from("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=");
        let sealed = old.seal(&secret);
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.contains("c2VjcmV0"));
        assert_ne!(
            old.seal(&secret).nonce,
            sealed.nonce,
            "a fresh nonce each time"
        );
        let both = keys("k2", &[("k1", 1), ("k2", 2)]);
        assert_eq!(
            both.open(&sealed).unwrap().expose_secret(),
            secret.expose_secret()
        );
        assert_eq!(both.seal(&secret).key_id, "k2");
        let new_only = keys("k2", &[("k2", 2)]);
        assert!(matches!(new_only.open(&sealed), Err(OpenError::UnknownKey(id)) if id == "k1"));
        let impostor = keys("k1", &[("k1", 9)]);
        assert!(matches!(impostor.open(&sealed), Err(OpenError::Damaged(_))));
    }

    #[test]
    fn unusable_keys_are_refused_naming_the_key_not_its_bytes() {
        let short = [(
            "k1".to_owned(),
            SecretString::from(BASE64.encode([1u8; 16])),
        )]
        .into();
        let error = SecretKeys::new("k1", &short).unwrap_err();
        assert!(error.to_string().contains("k1"), "{error}");
        assert!(!error.to_string().contains(&BASE64.encode([1u8; 16])));
        let good = [(
            "k1".to_owned(),
            SecretString::from(BASE64.encode([1u8; 32])),
        )]
        .into();
        assert!(matches!(
            SecretKeys::new("k2", &good),
            Err(SecretKeyError::UnknownCurrent(_))
        ));
        assert!(matches!(
            SecretKeys::from_settings(None, &good),
            Err(SecretKeyError::NoCurrent)
        ));
        assert!(
            SecretKeys::from_settings(None, &BTreeMap::new())
                .unwrap()
                .is_none()
        );
        assert!(!format!("{:?}", keys("k1", &[("k1", 1)])).contains(&BASE64.encode([1u8; 32])));
    }
}
