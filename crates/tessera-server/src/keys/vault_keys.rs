//! Signing keys kept in Vault / OpenBao (`keys.backend = vault-kv | vault-transit`).
//!
//! Each version of the KV secret, or of the transit key, is one signing key. Which one
//! signs and which are published is derived from Vault's own data (each version's
//! creation time) and the clock, so every replica reaches the same answer without
//! coordinating:
//! - the **signing** version is the newest one created at least `publish_delay` ago (the
//!   JWKS max-age plus two reload intervals): every replica has published it for a full
//!   cache lifetime before any signs with it. When no version is that old (first
//!   deployment), the oldest one signs.
//! - **published**: the signing version, every newer one (staged), and every older one
//!   whose successor started signing less than `retire_window` ago (its tokens may still
//!   be live).
//!
//! Rotation is therefore "write a new version" (`tessera keys push-vault`, or transit's
//! `rotate`), and zero-downtime by construction.

use super::signer::{Signer, TransitRef};
use super::vault::{Vault, VaultError};
use crate::config::{KeyBackend, VaultSettings};
use std::collections::HashMap;
use std::sync::Arc;
use tessera_token::{Algorithm, PublicKey, SigningKey};
use tokio::sync::Mutex;

/// A version of a key in Vault, reduced to what the schedule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Version number.
    pub number: u64,
    /// Creation time (Unix seconds).
    pub created: i64,
}

/// The signing version and the published versions, from the versions (oldest first) and
/// the time. `None` when there is no version.
pub fn schedule(
    versions: &[Version],
    now: i64,
    publish_delay: i64,
    retire_window: i64,
) -> Option<(u64, Vec<u64>)> {
    let oldest = versions.first()?;
    let signing = versions
        .iter()
        .rev()
        .find(|v| v.created + publish_delay <= now)
        .unwrap_or(oldest);
    let mut published = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let newer_or_signing = v.number >= signing.number;
        // The successor of an older version started signing at its creation + delay.
        let still_live = versions
            .get(i + 1)
            .is_some_and(|next| next.created + publish_delay + retire_window > now);
        if newer_or_signing || still_live {
            published.push(v.number);
        }
    }
    Some((signing.number, published))
}

/// What Vault holds now.
#[derive(Debug, Clone)]
pub struct VaultView {
    /// The key that signs.
    pub signer: Signer,
    /// Every published public key (the signer's included).
    pub published: Vec<PublicKey>,
    /// `(version, signing?)` of the published versions: a reload swaps keys only when this
    /// changes.
    pub fingerprint: Vec<(u64, bool)>,
}

enum Source {
    Kv {
        mount: String,
        path: String,
        field: String,
        /// Versions are immutable: each is read once.
        cache: Mutex<HashMap<u64, Arc<SigningKey>>>,
    },
    Transit {
        mount: String,
        name: String,
    },
}

/// Reads the signing keys from Vault.
pub struct VaultKeys {
    vault: Arc<Vault>,
    source: Source,
    alg: Algorithm,
    publish_delay: i64,
    retire_window: i64,
}

impl std::fmt::Debug for VaultKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultKeys")
            .field("vault", &self.vault)
            .field("alg", &self.alg)
            .finish()
    }
}

impl VaultKeys {
    /// Keys of `backend` (`vault-kv` or `vault-transit`) as configured; `alg` is the
    /// configured token algorithm (a KV version may name its own in an `alg` field).
    ///
    /// # Errors
    /// [`VaultError::Invalid`] for a local backend or unusable settings.
    pub fn new(
        backend: KeyBackend,
        settings: &VaultSettings,
        alg: Algorithm,
        publish_delay: i64,
        retire_window: i64,
    ) -> Result<Self, VaultError> {
        let vault = Arc::new(Vault::new(settings)?);
        let source = match backend {
            KeyBackend::VaultKv => Source::Kv {
                mount: settings.kv_mount.trim_matches('/').to_owned(),
                path: settings.kv_path.trim_matches('/').to_owned(),
                field: settings.kv_field.clone(),
                cache: Mutex::new(HashMap::new()),
            },
            KeyBackend::VaultTransit => Source::Transit {
                mount: settings.transit_mount.trim_matches('/').to_owned(),
                name: settings.transit_key.clone(),
            },
            KeyBackend::Local => {
                return Err(VaultError::Invalid("keys.backend is local".into()));
            }
        };
        Ok(Self {
            vault,
            source,
            alg,
            publish_delay,
            retire_window,
        })
    }

    /// The client (for `keys push-vault` and tests).
    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// Writes `key` as a new version of the KV secret (`vault-kv`). Returns the version.
    ///
    /// # Errors
    /// [`VaultError`]; [`VaultError::Invalid`] for the transit backend.
    pub async fn push(&self, key: &SigningKey) -> Result<u64, VaultError> {
        let Source::Kv {
            mount, path, field, ..
        } = &self.source
        else {
            return Err(VaultError::Invalid(
                "push-vault writes KV secrets; with vault-transit use `tessera keys rotate`".into(),
            ));
        };
        let pem = tessera_proto::Secret::new(key.expose_pkcs8_pem().to_string());
        self.vault
            .kv_write(mount, path, field, &pem, key.alg().as_str())
            .await
    }

    /// Adds a version: a generated key of `alg` in KV, or transit's `rotate` (creating the
    /// transit key when it does not exist yet). Returns a description of what was done.
    ///
    /// # Errors
    /// [`VaultError`].
    pub async fn rotate(
        &self,
        alg: Algorithm,
        bits: tessera_token::key::RsaBits,
    ) -> Result<String, VaultError> {
        match &self.source {
            Source::Kv { .. } => {
                let key = SigningKey::generate_with(alg, bits)
                    .map_err(|e| VaultError::Invalid(e.to_string()))?;
                let version = self.push(&key).await?;
                Ok(format!("wrote {} ({alg}) as version {version}", key.kid()))
            }
            Source::Transit { mount, name } => match self.vault.transit_key(mount, name).await {
                Ok(existing) => {
                    transit_alg(&existing.key_type, alg)?;
                    self.vault.transit_rotate(mount, name).await?;
                    Ok(format!("rotated transit key {mount}/{name}"))
                }
                Err(VaultError::Refused { status: 404, .. }) => {
                    self.vault
                        .transit_create(mount, name, transit_type(alg))
                        .await?;
                    Ok(format!(
                        "created transit key {mount}/{name} ({})",
                        transit_type(alg)
                    ))
                }
                Err(e) => Err(e),
            },
        }
    }

    /// Removes the KV version whose key is `kid` (soft delete): it leaves the JWKS at the
    /// next reload, and if it was signing, the previous version signs again.
    ///
    /// # Errors
    /// [`VaultError`]; transit versions cannot be removed one by one.
    pub async fn revoke(&self, kid: &str, now: i64) -> Result<u64, VaultError> {
        let Source::Kv { mount, path, .. } = &self.source else {
            return Err(VaultError::Invalid(
                "transit versions cannot be removed one by one: rotate, then raise the key's \
                 min_decryption_version and trim it in Vault"
                    .into(),
            ));
        };
        let view = self.view(now).await?;
        let found = view
            .published
            .iter()
            .zip(&view.fingerprint)
            .find(|(k, _)| k.kid() == kid)
            .map(|(_, (version, _))| *version)
            .ok_or_else(|| VaultError::Invalid(format!("no published key {kid}")))?;
        self.vault.kv_delete_versions(mount, path, &[found]).await?;
        Ok(found)
    }

    /// Reads the versions and derives the signer and the published keys at `now`.
    ///
    /// # Errors
    /// [`VaultError`]: Vault unreachable or refusing, no version, or a key that does not
    /// fit the configured algorithm.
    pub async fn view(&self, now: i64) -> Result<VaultView, VaultError> {
        match &self.source {
            Source::Kv {
                mount,
                path,
                field,
                cache,
            } => self.kv_view(mount, path, field, cache, now).await,
            Source::Transit { mount, name } => self.transit_view(mount, name, now).await,
        }
    }

    async fn kv_view(
        &self,
        mount: &str,
        path: &str,
        field: &str,
        cache: &Mutex<HashMap<u64, Arc<SigningKey>>>,
        now: i64,
    ) -> Result<VaultView, VaultError> {
        let versions: Vec<Version> = self
            .vault
            .kv_versions(mount, path)
            .await?
            .into_iter()
            .filter(|v| !v.gone)
            .map(|v| Version {
                number: v.version,
                created: v.created,
            })
            .collect();
        let (signing, published) = schedule(&versions, now, self.publish_delay, self.retire_window)
            .ok_or_else(|| {
                VaultError::Invalid(format!(
                    "no signing key at {mount}/{path}: write one with `tessera keys push-vault`"
                ))
            })?;
        let mut keys = Vec::new();
        for number in &published {
            let cached = cache.lock().await.get(number).cloned();
            let key = match cached {
                Some(k) => k,
                None => {
                    let (pem, alg) = self.vault.kv_read(mount, path, *number, field).await?;
                    let alg = match alg {
                        Some(a) => a.parse().map_err(|_| {
                            VaultError::Invalid(format!("v{number}: unknown alg {a:?}"))
                        })?,
                        None => self.alg,
                    };
                    let key = Arc::new(SigningKey::from_pem(alg, pem.expose()).map_err(|e| {
                        VaultError::Invalid(format!("{mount}/{path} v{number}: {e}"))
                    })?);
                    cache.lock().await.insert(*number, key.clone());
                    key
                }
            };
            keys.push((*number, key));
        }
        let signer = keys
            .iter()
            .find(|(n, _)| *n == signing)
            .map(|(_, k)| Signer::Local(k.clone()))
            .ok_or_else(|| VaultError::Invalid("signing version not read".into()))?;
        Ok(VaultView {
            published: keys.iter().map(|(_, k)| k.public_key().clone()).collect(),
            fingerprint: keys.iter().map(|(n, _)| (*n, *n == signing)).collect(),
            signer,
        })
    }

    async fn transit_view(
        &self,
        mount: &str,
        name: &str,
        now: i64,
    ) -> Result<VaultView, VaultError> {
        let key = self.vault.transit_key(mount, name).await?;
        let alg = transit_alg(&key.key_type, self.alg)?;
        let versions: Vec<Version> = key
            .versions
            .iter()
            .map(|v| Version {
                number: v.version,
                created: v.created,
            })
            .collect();
        let (signing, published) = schedule(&versions, now, self.publish_delay, self.retire_window)
            .ok_or_else(|| {
                VaultError::Invalid(format!("transit key {mount}/{name} has no version"))
            })?;
        let mut keys = Vec::new();
        for v in key
            .versions
            .iter()
            .filter(|v| published.contains(&v.version))
        {
            let public = PublicKey::from_public_der(alg, &v.public_der)
                .map_err(|e| VaultError::Invalid(format!("transit {name} v{}: {e}", v.version)))?;
            keys.push((v.version, public));
        }
        let signer_key = keys
            .iter()
            .find(|(n, _)| *n == signing)
            .map(|(_, k)| k.clone())
            .ok_or_else(|| VaultError::Invalid("signing version not read".into()))?;
        Ok(VaultView {
            signer: Signer::Transit {
                public: Box::new(signer_key),
                at: TransitRef {
                    vault: self.vault.clone(),
                    mount: mount.to_owned(),
                    name: name.to_owned(),
                    version: signing,
                },
            },
            fingerprint: keys.iter().map(|(n, _)| (*n, *n == signing)).collect(),
            published: keys.into_iter().map(|(_, k)| k).collect(),
        })
    }
}

/// The JWS algorithm a transit key type signs with: RSA keys sign RS256 or PS256 as
/// configured; the others have one algorithm each.
///
/// # Errors
/// [`VaultError::Invalid`] when the key type cannot sign the configured algorithm.
pub fn transit_alg(key_type: &str, configured: Algorithm) -> Result<Algorithm, VaultError> {
    let alg = match key_type {
        "rsa-2048" | "rsa-3072" | "rsa-4096" => configured,
        "ecdsa-p256" => Algorithm::ES256,
        "ed25519" => Algorithm::EdDSA,
        other => {
            return Err(VaultError::Invalid(format!(
                "transit key type {other} cannot sign JWTs Tessera issues"
            )));
        }
    };
    if alg != configured {
        return Err(VaultError::Invalid(format!(
            "transit key type {key_type} signs {alg}, but tokens.algorithm is {configured}"
        )));
    }
    if key_type.starts_with("rsa-") && !matches!(alg, Algorithm::RS256 | Algorithm::PS256) {
        return Err(VaultError::Invalid(format!(
            "transit key type {key_type} cannot sign {alg}"
        )));
    }
    Ok(alg)
}

/// The transit key type for an algorithm (`keys push-vault` creates it).
pub fn transit_type(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ecdsa-p256",
        Algorithm::EdDSA => "ed25519",
        // RS256, PS256
        _ => "rsa-2048",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(number: u64, created: i64) -> Version {
        Version { number, created }
    }

    #[test]
    fn the_schedule_publishes_before_signing_and_keeps_the_old_key_for_its_tokens() {
        let (delay, window) = (320, 330);
        assert_eq!(schedule(&[], 0, delay, window), None);
        // First deployment: the only version signs at once.
        assert_eq!(
            schedule(&[v(1, 1000)], 1000, delay, window),
            Some((1, vec![1]))
        );
        let two = [v(1, 1000), v(2, 5000)];
        // v2 just written: published, v1 still signs.
        assert_eq!(schedule(&two, 5000, delay, window), Some((1, vec![1, 2])));
        assert_eq!(schedule(&two, 5319, delay, window), Some((1, vec![1, 2])));
        // After the delay v2 signs; v1 stays published for its tokens...
        assert_eq!(schedule(&two, 5320, delay, window), Some((2, vec![1, 2])));
        assert_eq!(schedule(&two, 5649, delay, window), Some((2, vec![1, 2])));
        // ...and goes once they have all expired.
        assert_eq!(schedule(&two, 5650, delay, window), Some((2, vec![2])));
        // A fresh deployment with two young versions signs with the older one.
        assert_eq!(schedule(&two, 100, delay, window), Some((1, vec![1, 2])));
    }
}
