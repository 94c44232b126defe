//! The keyring: the key that signs, the keys published in the JWKS, and the internal MAC
//! key of refresh tokens, unsealed once at start-up.

use super::master::{MasterKey, MasterKeyError};
use crate::store::{KeyState, Store, StoreError, StoredKey};
use bytes::Bytes;
use tessera_token::{Algorithm, KeyError, KeySet, MacKey, RandomError, SigningKey};

/// The stored name of the internal refresh MAC key's algorithm.
const MAC_ALG: &str = "HS256";

/// The keyring could not be loaded or initialised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// The master key is missing or wrong.
    #[error(transparent)]
    Master(#[from] MasterKeyError),
    /// A stored key is unreadable.
    #[error("stored key {kid}: {source}")]
    Key {
        /// Its id.
        kid: String,
        /// Why.
        source: KeyError,
    },
    /// Generating a key failed.
    #[error("key generation failed: {0}")]
    Generate(#[from] KeyError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The unsealed keys a running server uses.
#[derive(Debug)]
pub struct Keyring {
    signing: SigningKey,
    published: KeySet,
    jwks_json: Bytes,
    mac: MacKey,
}

impl Keyring {
    /// Unseals the stored keys; generates and stores (sealed) an active key for `alg` and a
    /// refresh MAC key when there are none.
    ///
    /// # Errors
    /// [`KeyringError`]: a wrong master key, an unreadable key, or a store failure.
    pub async fn load_or_init(
        store: &dyn Store,
        master: &MasterKey,
        stored: Vec<StoredKey>,
        alg: Algorithm,
        now: i64,
    ) -> Result<Self, KeyringError> {
        let mut published = KeySet::new();
        let mut signing = None;
        let mut mac = None;
        for key in stored {
            let context = seal_context(&key.kid, &key.alg);
            let secret = master.open(&key.sealed_private, &context)?;
            if key.alg == MAC_ALG {
                let k =
                    MacKey::from_bytes(&key.kid, &secret).map_err(|source| KeyringError::Key {
                        kid: key.kid.clone(),
                        source,
                    })?;
                mac = Some(k);
                continue;
            }
            let key_alg: Algorithm = key.alg.parse().map_err(|_| KeyringError::Key {
                kid: key.kid.clone(),
                source: KeyError::Invalid {
                    alg: "stored",
                    reason: format!("unknown algorithm {}", key.alg),
                },
            })?;
            let k = SigningKey::from_pkcs8_der_with_kid(key_alg, &secret, &key.kid).map_err(
                |source| KeyringError::Key {
                    kid: key.kid.clone(),
                    source,
                },
            )?;
            published.insert(k.public_key().clone());
            if key.state == KeyState::Active && key_alg == alg {
                signing = Some(k);
            }
        }
        let signing = match signing {
            Some(k) => k,
            None => {
                let k = SigningKey::generate(alg)?;
                store
                    .insert_signing_key(&sealed(
                        master,
                        k.kid(),
                        alg.as_str(),
                        k.expose_pkcs8_der(),
                        now,
                    )?)
                    .await?;
                tracing::info!(kid = k.kid(), %alg, "generated a new signing key");
                published.insert(k.public_key().clone());
                k
            }
        };
        let mac = match mac {
            Some(m) => m,
            None => {
                let m = MacKey::generate()?;
                store
                    .insert_signing_key(&sealed(master, m.kid(), MAC_ALG, m.expose_secret(), now)?)
                    .await?;
                m
            }
        };
        let jwks_json =
            serde_json::to_vec(&published.to_jwks()).map_err(|e| KeyError::Invalid {
                alg: "JWKS",
                reason: e.to_string(),
            })?;
        Ok(Self {
            signing,
            published,
            jwks_json: Bytes::from(jwks_json),
            mac,
        })
    }

    /// The key that signs access tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The published public keys (verification of access tokens uses exactly these).
    pub fn published(&self) -> &KeySet {
        &self.published
    }

    /// The JWKS document, serialised once (cloning is a reference count, not a copy).
    pub fn jwks_json(&self) -> Bytes {
        self.jwks_json.clone()
    }

    /// The internal refresh-token MAC key.
    pub fn mac(&self) -> &MacKey {
        &self.mac
    }
}

fn seal_context(kid: &str, alg: &str) -> String {
    format!("tessera-key:{alg}:{kid}")
}

fn sealed(
    master: &MasterKey,
    kid: &str,
    alg: &str,
    secret: &[u8],
    now: i64,
) -> Result<StoredKey, KeyringError> {
    Ok(StoredKey {
        kid: kid.to_owned(),
        alg: alg.to_owned(),
        state: KeyState::Active,
        created_at: now,
        activated_at: Some(now),
        sealed_private: master.seal(secret, &seal_context(kid, alg))?,
    })
}
