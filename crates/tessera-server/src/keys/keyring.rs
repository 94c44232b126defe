//! The keyring: the key that signs, the keys published in the JWKS, and the internal MAC
//! key of refresh tokens, unsealed from the store.
//!
//! A running server holds one [`Keyring`] behind [`LiveKeys`] and swaps in a new one when
//! the stored keys change (a rotation by the CLI or by another replica), so every replica
//! publishes and uses the same keys within `database.key_reload_interval`.
//!
//! Over 500 lines as one concept: the keyring's whole life (load, first start, staging,
//! rewrap) and the live handle replicas swap; each part reads and writes the same sealed
//! rows, so they stay together.

use super::master::{MasterKey, MasterKeyError};
use super::signer::Signer;
use super::vault::VaultError;
use super::vault_keys::{VaultKeys, VaultView};
use crate::store::{KeyAlg, KeyState, Store, StoreError, StoredKey};
use arc_swap::ArcSwap;
use bytes::Bytes;
use std::sync::Arc;
use tessera_token::key::RsaBits;
use tessera_token::{Algorithm, KeyError, KeySet, MacKey, RandomError, SigningKey};

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
    /// The stored keys have no active key for the configured algorithm.
    #[error("no active {0} signing key is stored")]
    NoActiveKey(Algorithm),
    /// Vault / OpenBao (`keys.backend = vault-*`) failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// The unsealed keys a running server uses.
#[derive(Debug)]
pub struct Keyring {
    signing: Signer,
    /// The active keys of the other algorithms (for clients that ask for them).
    others: Vec<Signer>,
    published: KeySet,
    jwks_json: Bytes,
    mac: Arc<MacKey>,
    /// `(kid, state)` of every stored key this keyring was built from.
    fingerprint: Vec<(String, KeyState)>,
}

/// What the stored keys hold, unsealed.
struct Unsealed {
    signing: Option<SigningKey>,
    others: Vec<SigningKey>,
    published: KeySet,
    mac: Option<MacKey>,
    fingerprint: Vec<(String, KeyState)>,
}

impl Unsealed {
    fn open(
        master: &MasterKey,
        stored: &[StoredKey],
        alg: Algorithm,
    ) -> Result<Self, KeyringError> {
        let mut out = Self {
            signing: None,
            others: Vec::new(),
            published: KeySet::new(),
            mac: None,
            fingerprint: fingerprint(stored),
        };
        for key in stored {
            let secret = master.open(&key.sealed_private, &seal_context(&key.kid, &key.alg))?;
            let bad = |source| KeyringError::Key {
                kid: key.kid.clone(),
                source,
            };
            let key_alg = match &key.alg {
                KeyAlg::Mac => {
                    if key.state == KeyState::Active {
                        out.mac = Some(MacKey::from_bytes(&key.kid, &secret).map_err(bad)?);
                    }
                    continue;
                }
                KeyAlg::Signing(alg) => *alg,
                KeyAlg::Other(name) => {
                    return Err(bad(KeyError::Invalid {
                        alg: "stored",
                        reason: format!("unknown algorithm {name}"),
                    }));
                }
            };
            let k = SigningKey::from_pkcs8_der_with_kid(key_alg, &secret, &key.kid).map_err(bad)?;
            out.published.insert(k.public_key().clone());
            if key.state == KeyState::Active && key_alg == alg {
                out.signing = Some(k);
            } else if key.state == KeyState::Active {
                out.others.push(k);
            }
        }
        Ok(out)
    }

    /// The keyring, or which of its two parts the store lacks.
    fn complete(self) -> Result<Keyring, Missing> {
        match (self.signing, self.mac) {
            (Some(signing), Some(mac)) => {
                let jwks = serde_json::to_vec(&self.published.to_jwks()).unwrap_or_default();
                Ok(Keyring {
                    signing: Signer::Local(Arc::new(signing)),
                    others: self
                        .others
                        .into_iter()
                        .map(|k| Signer::Local(Arc::new(k)))
                        .collect(),
                    published: self.published,
                    jwks_json: Bytes::from(jwks),
                    mac: Arc::new(mac),
                    fingerprint: self.fingerprint,
                })
            }
            (None, _) => Err(Missing::Signing),
            (Some(_), None) => Err(Missing::Mac),
        }
    }
}

/// The part of a keyring that has no stored key yet.
#[derive(Debug, Clone, Copy)]
enum Missing {
    Signing,
    Mac,
}

impl Keyring {
    /// Unseals the stored keys; generates and stores (sealed) an active key for `alg` and a
    /// refresh MAC key when there are none. Replicas starting together on one database
    /// may race here: the loser's insert hits the one-active-key index and it loads the
    /// winner's key instead.
    ///
    /// # Errors
    /// [`KeyringError`]: a wrong master key, an unreadable key, or a store failure.
    pub async fn load_or_init(
        store: &dyn Store,
        master: &MasterKey,
        alg: Algorithm,
        bits: RsaBits,
        now: i64,
    ) -> Result<Self, KeyringError> {
        for _ in 0..3 {
            let stored = store.signing_keys().await?;
            let missing = match Unsealed::open(master, &stored, alg)?.complete() {
                Ok(ring) => return Ok(ring),
                Err(missing) => missing,
            };
            let outcome = if matches!(missing, Missing::Signing) {
                let k = SigningKey::generate_with(alg, bits)?;
                let sealed = sealed(
                    master,
                    k.kid(),
                    KeyAlg::Signing(alg),
                    k.expose_pkcs8_der(),
                    now,
                )?;
                let r = store.insert_signing_key(&sealed).await;
                if r.is_ok() {
                    tracing::info!(kid = k.kid(), %alg, "generated a new signing key");
                }
                r
            } else {
                let m = MacKey::generate()?;
                let sealed = sealed(master, m.kid(), KeyAlg::Mac, m.expose_secret(), now)?;
                store.insert_signing_key(&sealed).await
            };
            match outcome {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(KeyringError::NoActiveKey(alg))
    }

    /// Builds a keyring from stored keys without writing any.
    ///
    /// # Errors
    /// [`KeyringError::NoActiveKey`] when there is no active key of `alg` or MAC key.
    pub fn from_stored(
        master: &MasterKey,
        stored: &[StoredKey],
        alg: Algorithm,
    ) -> Result<Self, KeyringError> {
        Unsealed::open(master, stored, alg)?
            .complete()
            .map_err(|_| KeyringError::NoActiveKey(alg))
    }

    /// The public keys of the stored signing keys (what the JWKS publishes), whether or
    /// not the set is complete enough to sign.
    ///
    /// # Errors
    /// [`KeyringError`]: a wrong master key or an unreadable key.
    pub fn public_keys(
        master: &MasterKey,
        stored: &[StoredKey],
        alg: Algorithm,
    ) -> Result<KeySet, KeyringError> {
        Ok(Unsealed::open(master, stored, alg)?.published)
    }

    /// Loads the internal refresh MAC key, generating and storing it when there is none
    /// (the keyring of the Vault backends: only the MAC key lives in the database).
    ///
    /// # Errors
    /// [`KeyringError`].
    pub async fn load_mac(
        store: &dyn Store,
        master: &MasterKey,
        now: i64,
    ) -> Result<MacKey, KeyringError> {
        for _ in 0..3 {
            let stored = store.signing_keys().await?;
            let found = stored
                .iter()
                .find(|k| k.alg == KeyAlg::Mac && k.state == KeyState::Active);
            if let Some(key) = found {
                let secret = master.open(&key.sealed_private, &seal_context(&key.kid, &key.alg))?;
                return MacKey::from_bytes(&key.kid, &secret).map_err(|source| KeyringError::Key {
                    kid: key.kid.clone(),
                    source,
                });
            }
            let m = MacKey::generate()?;
            let sealed = sealed(master, m.kid(), KeyAlg::Mac, m.expose_secret(), now)?;
            match store.insert_signing_key(&sealed).await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(KeyringError::NoActiveKey(Algorithm::RS256))
    }

    /// A keyring from what Vault holds, with the database's MAC key.
    pub fn from_vault(view: VaultView, mac: Arc<MacKey>) -> Self {
        let mut published = KeySet::new();
        for key in view.published {
            published.insert(key);
        }
        let jwks = serde_json::to_vec(&published.to_jwks()).unwrap_or_default();
        let fingerprint = view
            .fingerprint
            .iter()
            .map(|(n, signing)| {
                let state = if *signing {
                    KeyState::Active
                } else {
                    KeyState::Next
                };
                (format!("vault-v{n}"), state)
            })
            .collect();
        Self {
            signing: view.signer,
            others: Vec::new(),
            published,
            jwks_json: Bytes::from(jwks),
            mac,
            fingerprint,
        }
    }

    /// The key that signs access and ID tokens.
    pub fn signer(&self) -> &Signer {
        &self.signing
    }

    /// The active key of `alg` (the signer's, or another algorithm's active key: ID
    /// tokens for a client that asked for that algorithm).
    pub fn signer_for(&self, alg: Algorithm) -> Option<&Signer> {
        std::iter::once(&self.signing)
            .chain(&self.others)
            .find(|s| s.alg() == alg)
    }

    /// The algorithms that have an active key.
    pub fn active_algorithms(&self) -> Vec<Algorithm> {
        std::iter::once(&self.signing)
            .chain(&self.others)
            .map(Signer::alg)
            .collect()
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

    /// Whether this keyring was built from exactly these stored keys and states.
    pub fn matches(&self, stored: &[StoredKey]) -> bool {
        self.fingerprint == fingerprint(stored)
    }
}

/// The keyring a running server uses, swapped atomically when the stored keys change.
#[derive(Debug)]
pub struct LiveKeys {
    master: MasterKey,
    alg: Algorithm,
    bits: RsaBits,
    current: ArcSwap<Keyring>,
    /// Set for `keys.backend = vault-*`: the signing keys come from there.
    vault: Option<VaultKeys>,
}

impl LiveKeys {
    /// Starts from `ring`.
    pub fn new(master: MasterKey, alg: Algorithm, bits: RsaBits, ring: Keyring) -> Self {
        Self {
            master,
            alg,
            bits,
            current: ArcSwap::from_pointee(ring),
            vault: None,
        }
    }

    /// Starts from `ring`, built from `vault`, which later reloads read.
    pub fn with_vault(master: MasterKey, alg: Algorithm, ring: Keyring, vault: VaultKeys) -> Self {
        Self {
            master,
            alg,
            bits: RsaBits::B2048,
            current: ArcSwap::from_pointee(ring),
            vault: Some(vault),
        }
    }

    /// The Vault source, when the keys live there.
    pub fn vault(&self) -> Option<&VaultKeys> {
        self.vault.as_ref()
    }

    /// Re-reads Vault: swaps in a new keyring when the published or signing versions
    /// changed. The MAC key stays.
    async fn reload_vault(&self, vault: &VaultKeys, now: i64) -> Result<bool, KeyringError> {
        let view = vault.view(now).await?;
        let current = self.current.load_full();
        let ring = Keyring::from_vault(view, current.mac.clone());
        if ring.fingerprint == current.fingerprint {
            return Ok(false);
        }
        tracing::info!(
            kid = ring.signer().kid(),
            "loaded changed signing keys from Vault"
        );
        self.current.store(Arc::new(ring));
        Ok(true)
    }

    /// The keyring now (a reference count; requests keep the one they started with).
    pub fn current(&self) -> Arc<Keyring> {
        self.current.load_full()
    }

    /// The algorithm new keys are generated in (`[tokens] algorithm`).
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The RSA modulus size new RSA keys get.
    pub fn bits(&self) -> RsaBits {
        self.bits
    }

    /// The master key that seals stored keys.
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// Re-reads Vault when the keys live there (`Some`: whether it swapped); `None` for
    /// stored keys, which [`LiveKeys::swap_if_changed`] takes.
    ///
    /// # Errors
    /// [`KeyringError`]: Vault is unreachable; the current keyring stays in use.
    pub async fn reload_from_vault(&self, now: i64) -> Option<Result<bool, KeyringError>> {
        let vault = self.vault.as_ref()?;
        Some(self.reload_vault(vault, now).await)
    }

    /// Swaps in a keyring built from `stored` unless the current one was built from
    /// exactly these keys and states. Returns whether it swapped.
    ///
    /// # Errors
    /// [`KeyringError`]: a stored key cannot be opened; the current keyring stays in use.
    pub fn swap_if_changed(&self, stored: &[StoredKey]) -> Result<bool, KeyringError> {
        if self.current.load().matches(stored) {
            return Ok(false);
        }
        let ring = Keyring::from_stored(&self.master, stored, self.alg)?;
        tracing::info!(kid = ring.signer().kid(), "loaded changed signing keys");
        self.current.store(Arc::new(ring));
        Ok(true)
    }
}

/// Generates a key of `alg` and stores it sealed as `next`: published at the next reload
/// of every replica, signing once the JWKS caches have seen it. With `now_active`, it
/// signs at once (clients that cached the old JWKS refuse its tokens until they refetch).
/// Returns the new kid.
///
/// # Errors
/// [`KeyringError`].
pub async fn stage_new_key(
    store: &dyn Store,
    master: &MasterKey,
    alg: Algorithm,
    bits: RsaBits,
    now_active: Option<i64>,
    now: i64,
) -> Result<String, KeyringError> {
    let k = SigningKey::generate_with(alg, bits)?;
    stage_key(store, master, &k, now_active, now).await
}

/// Stores `k` sealed as `next` (and, with `now_active`, activates it at once). Returns
/// its kid.
///
/// # Errors
/// [`KeyringError`]; [`StoreError::Conflict`] when a `next` key of its algorithm exists.
pub async fn stage_key(
    store: &dyn Store,
    master: &MasterKey,
    k: &SigningKey,
    now_active: Option<i64>,
    now: i64,
) -> Result<String, KeyringError> {
    let alg = k.alg();
    let mut stored = sealed(
        master,
        k.kid(),
        KeyAlg::Signing(alg),
        k.expose_pkcs8_der(),
        now,
    )?;
    stored.state = KeyState::Next;
    stored.activated_at = None;
    store.insert_signing_key(&stored).await?;
    if let Some(retire_after) = now_active {
        store.activate_key(k.kid(), retire_after, now).await?;
    }
    Ok(k.kid().to_owned())
}

/// Re-seals every stored key (signing keys and the refresh MAC key) and every TOTP secret
/// from `old` to `new` in one transaction: the keys and secrets themselves do not change.
/// Returns how many were re-sealed.
///
/// # Errors
/// [`KeyringError::Master`] when `old` does not open a stored key;
/// [`StoreError::Conflict`] when a key changed meanwhile (nothing was written).
pub async fn rewrap(
    store: &dyn Store,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize, KeyringError> {
    let stored = store.signing_keys().await?;
    let mut resealed = Vec::with_capacity(stored.len());
    for key in &stored {
        let context = seal_context(&key.kid, &key.alg);
        let secret = old.open(&key.sealed_private, &context)?;
        resealed.push((
            key.kid.clone(),
            key.sealed_private.clone(),
            new.seal(&secret, &context)?,
        ));
    }
    let secrets = store.totp_secrets().await?;
    let mut totp = Vec::with_capacity(secrets.len());
    for s in &secrets {
        let context = MasterKey::totp_context(s.user_id);
        let secret = old.open(&s.sealed, &context)?;
        totp.push((s.user_id, s.sealed.clone(), new.seal(&secret, &context)?));
    }
    if !store.reseal_keys(&resealed, &totp).await? {
        return Err(StoreError::Conflict("key").into());
    }
    Ok(resealed.len() + totp.len())
}

fn fingerprint(stored: &[StoredKey]) -> Vec<(String, KeyState)> {
    stored.iter().map(|k| (k.kid.clone(), k.state)).collect()
}

fn seal_context(kid: &str, alg: &KeyAlg) -> String {
    format!("tessera-key:{}:{kid}", alg.as_str())
}

fn sealed(
    master: &MasterKey,
    kid: &str,
    alg: KeyAlg,
    secret: &[u8],
    now: i64,
) -> Result<StoredKey, KeyringError> {
    Ok(StoredKey {
        kid: kid.to_owned(),
        state: KeyState::Active,
        created_at: now,
        activated_at: Some(now),
        retire_after: None,
        sealed_private: master.seal(secret, &seal_context(kid, &alg))?,
        alg,
    })
}
