//! The key schedule a running server follows (`[keys] rotate_every`, the publish delay,
//! retirement): prunes retired keys whose tokens have all expired, stages a new key when
//! the active one is due for rotation, activates `next` keys whose publication delay has
//! passed, records each change in the audit trail, then has the keyring swap in the keys
//! if anything changed. The keyring (`keys`) is the mechanism; this is the policy.

use crate::keys::{KeyringError, LiveKeys, stage_new_key};
use crate::store::{KeyAlg, KeyState, Store, StoreError};

/// When a running server rotates and prunes keys by itself (all Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// A `next` key signs once it has been published this long (the JWKS max-age plus one
    /// reload interval).
    pub publish_delay: i64,
    /// A key activated now retires the one it replaces until this time.
    pub retire_after: i64,
    /// Stage a new key when the active one has signed this long; `None`: never.
    pub rotate_every: Option<i64>,
}

/// Runs the schedule once (the reload task does every `database.key_reload_interval`).
/// Every step is a conditional write, so replicas doing the same at once change things
/// once. With Vault, re-reads Vault instead (it keeps its own schedule). Returns whether
/// the keyring was swapped.
///
/// # Errors
/// [`KeyringError`]: the store is unreachable or a stored key unreadable; the current
/// keyring stays in use.
pub async fn run_once(
    keys: &LiveKeys,
    store: &dyn Store,
    schedule: Schedule,
    now: i64,
) -> Result<bool, KeyringError> {
    if let Some(reloaded) = keys.reload_from_vault(now).await {
        return reloaded;
    }
    let mut stored = store.signing_keys().await?;
    let mut changed = false;
    // Prune only when a retired key is due: no write on the ticks with nothing to do.
    let prune_due = stored
        .iter()
        .any(|k| k.state == KeyState::Retired && k.retire_after.is_some_and(|t| t <= now));
    if prune_due {
        let pruned = store.prune_retired_keys(now).await?;
        tracing::info!(
            count = pruned,
            "removed retired keys whose tokens have expired"
        );
        changed = true;
    }
    if let Some(every) = schedule.rotate_every {
        let alg = KeyAlg::Signing(keys.alg());
        let due = stored.iter().any(|k| {
            k.alg == alg
                && k.state == KeyState::Active
                && k.activated_at.unwrap_or(k.created_at) + every <= now
        });
        let staged = stored
            .iter()
            .any(|k| k.alg == alg && k.state == KeyState::Next);
        if due && !staged {
            match stage_new_key(store, keys.master(), keys.alg(), keys.bits(), None, now).await {
                Ok(kid) => {
                    tracing::info!(kid = kid.as_str(), "scheduled rotation: staged a new key");
                    super::audit::event("key.staged")
                        .subject(&kid)
                        .detail("scheduled rotation")
                        .record(store, now)
                        .await;
                    changed = true;
                }
                // Another replica staged one first.
                Err(KeyringError::Store(StoreError::Conflict(_))) => changed = true,
                Err(e) => return Err(e),
            }
        }
    }
    for key in &stored {
        if key.state == KeyState::Next
            && key.created_at + schedule.publish_delay <= now
            && store
                .activate_key(&key.kid, schedule.retire_after, now)
                .await?
        {
            tracing::info!(kid = key.kid.as_str(), "activated the next signing key");
            super::audit::event("key.activated")
                .subject(&key.kid)
                .detail("scheduled")
                .record(store, now)
                .await;
            changed = true;
        }
    }
    if changed {
        stored = store.signing_keys().await?;
    }
    keys.swap_if_changed(&stored)
}
