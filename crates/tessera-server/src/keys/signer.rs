//! The key that signs access and ID tokens: a local key (unsealed from the database or
//! read from Vault KV) that signs in process, or a Vault transit key version that signs
//! inside Vault.

use super::vault::{TransitScheme, Vault, VaultError};
use serde::Serialize;
use std::sync::Arc;
use tessera_token::sign::{ACCESS_TYP, assemble, sign_with, signing_input};
use tessera_token::{AccessClaims, Algorithm, PublicKey, SignError, SigningKey};

/// Signing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The token could not be built or signed locally.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// Vault's transit engine did not sign.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl SignerError {
    /// Whether the signer is temporarily unavailable (Vault down): 503, not 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Vault(v) => v.is_unavailable(),
            Self::Sign(_) => false,
        }
    }
}

/// Where a transit key version lives.
#[derive(Debug, Clone)]
pub struct TransitRef {
    /// The client.
    pub vault: Arc<Vault>,
    /// Transit mount.
    pub mount: String,
    /// Key name.
    pub name: String,
    /// The version that signs (requested explicitly, and checked in the answer).
    pub version: u64,
}

/// The signing key of a keyring.
#[derive(Debug, Clone)]
pub enum Signer {
    /// Signs in process.
    Local(Arc<SigningKey>),
    /// Signs in Vault.
    Transit {
        /// The version's public key (kid, alg).
        public: Box<PublicKey>,
        /// Where it is.
        at: TransitRef,
    },
}

impl Signer {
    /// The kid tokens name.
    pub fn kid(&self) -> &str {
        match self {
            Self::Local(k) => k.kid(),
            Self::Transit { public, .. } => public.kid(),
        }
    }

    /// The algorithm.
    pub fn alg(&self) -> Algorithm {
        match self {
            Self::Local(k) => k.alg(),
            Self::Transit { public, .. } => public.alg(),
        }
    }

    /// The private key, when it signs in process (local and KV backends).
    pub fn local_key(&self) -> Option<&SigningKey> {
        match self {
            Self::Local(k) => Some(k),
            Self::Transit { .. } => None,
        }
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        match self {
            Self::Local(k) => k.public_key(),
            Self::Transit { public, .. } => public,
        }
    }

    /// Signs an access token (`typ` `at+jwt`).
    ///
    /// # Errors
    /// [`SignerError`].
    pub async fn sign_access(&self, claims: &AccessClaims) -> Result<String, SignerError> {
        self.sign(ACCESS_TYP, claims).await
    }

    /// Signs `claims` with header `typ`.
    ///
    /// # Errors
    /// [`SignerError`]; [`VaultError`] when transit cannot sign (issuing answers 503).
    pub async fn sign<T: Serialize + Sync>(
        &self,
        typ: &str,
        claims: &T,
    ) -> Result<String, SignerError> {
        match self {
            Self::Local(key) => Ok(sign_with(key, typ, claims)?),
            Self::Transit { public, at } => {
                let input = signing_input(public.alg(), public.kid(), typ, claims)?;
                let scheme = match public.alg() {
                    Algorithm::RS256 => TransitScheme::Pkcs1,
                    Algorithm::PS256 => TransitScheme::Pss,
                    Algorithm::ES256 => TransitScheme::EcdsaJws,
                    Algorithm::EdDSA => TransitScheme::Ed25519,
                    other => {
                        return Err(
                            VaultError::Invalid(format!("transit cannot sign {other}")).into()
                        );
                    }
                };
                let signature = at
                    .vault
                    .transit_sign(&at.mount, &at.name, at.version, input.as_bytes(), scheme)
                    .await?;
                // Never hand out a token that the published key does not verify.
                if !public.verifies(input.as_bytes(), &signature) {
                    return Err(VaultError::Invalid(format!(
                        "transit signature of v{} does not verify with its public key",
                        at.version
                    ))
                    .into());
                }
                Ok(assemble(&input, &signature))
            }
        }
    }
}
