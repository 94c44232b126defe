//! Everything still meaningful, for `tessera export` / `import`.

use super::{Client, PasskeyRow, RefreshRow, RevokedAccess, RowState, StoredKey, TotpSecret, User};
use serde::{Deserialize, Serialize};

/// A whole installation's state: what `tessera export` writes and `tessera import` reads.
/// Expired refresh rows and revocations of expired access tokens are left out (they can
/// never matter again); private keys stay sealed under the master key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every user, with ids kept (tokens carry them).
    pub users: Vec<User>,
    /// Every OAuth client (secrets as their hashes).
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Every signing key, sealed.
    pub signing_keys: Vec<StoredKey>,
    /// Every unexpired refresh token row, rotated ones included (reuse detection needs them).
    pub refresh_tokens: Vec<RefreshRow>,
    /// Every unexpired access token revocation.
    pub revoked_access: Vec<RevokedAccess>,
    /// Confirmed TOTP secrets, still sealed (an import needs the same master key, as for
    /// the signing keys): an export never drops a user's second factor.
    #[serde(default)]
    pub totp_secrets: Vec<TotpSecret>,
    /// Unused recovery codes (hashes).
    #[serde(default)]
    pub recovery_codes: Vec<RecoveryCodeRow>,
    /// Passkeys (public keys and counters).
    #[serde(default)]
    pub passkeys: Vec<PasskeyRow>,
}

/// How many rows of each kind a [`Snapshot`] holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotCounts {
    /// Users.
    pub users: usize,
    /// OAuth clients.
    pub clients: usize,
    /// Signing keys.
    pub signing_keys: usize,
    /// Refresh token rows.
    pub refresh_tokens: usize,
    /// Live refresh families (those with an active token).
    pub live_families: usize,
    /// Access token revocations.
    pub revoked_access: usize,
}

impl Snapshot {
    /// Its counts.
    pub fn counts(&self) -> SnapshotCounts {
        SnapshotCounts {
            users: self.users.len(),
            clients: self.clients.len(),
            signing_keys: self.signing_keys.len(),
            refresh_tokens: self.refresh_tokens.len(),
            live_families: self
                .refresh_tokens
                .iter()
                .filter(|r| r.state == RowState::Active)
                .count(),
            revoked_access: self.revoked_access.len(),
        }
    }
}

/// One unused recovery code, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct RecoveryCodeRow {
    /// The user.
    pub user_id: i64,
    /// SHA-256 (hex) of the code.
    pub code_hash: String,
    /// When its set was made.
    pub created_at: i64,
}
