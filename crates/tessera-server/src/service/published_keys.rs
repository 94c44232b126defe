//! What Tessera tells about its signing keys: the published keys with the one that signs
//! and their stored state (the admin API), and how long the signing key has signed (the
//! metrics).

use crate::state::AppState;
use crate::store::{KeyState, StoreResult};
use tessera_token::Algorithm;

/// A key in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// Its `kid`.
    pub kid: String,
    /// Its algorithm.
    pub alg: Algorithm,
    /// Whether it signs new tokens now.
    pub signing: bool,
    /// Its stored state; `None` for a key the store does not hold (the Vault backends).
    pub state: Option<KeyState>,
    /// When it was stored (Unix seconds), when it is.
    pub created_at: Option<i64>,
}

/// The keys of the JWKS, in its order.
///
/// # Errors
/// The store's error.
pub async fn published(state: &AppState) -> StoreResult<Vec<PublishedKey>> {
    let ring = state.keys.current();
    let stored = state.store.signing_keys().await?;
    let signing = ring.signer().kid();
    Ok(ring
        .published()
        .iter()
        .map(|k| {
            let row = stored.iter().find(|s| s.kid == k.kid());
            PublishedKey {
                kid: k.kid().to_owned(),
                alg: k.alg(),
                signing: k.kid() == signing,
                state: row.map(|r| r.state),
                created_at: row.map(|r| r.created_at),
            }
        })
        .collect())
}

/// Seconds since the stored key that signs now became active; `None` when the store does
/// not hold it (the Vault backends).
///
/// # Errors
/// The store's error.
pub async fn signing_key_age(state: &AppState) -> StoreResult<Option<i64>> {
    let kid = state.keys.current().signer().kid().to_owned();
    let stored = state.store.signing_keys().await?;
    Ok(stored
        .iter()
        .find(|k| k.kid == kid)
        .map(|key| state.clock.unix() - key.activated_at.unwrap_or(key.created_at)))
}
