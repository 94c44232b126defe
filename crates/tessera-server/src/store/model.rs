//! Records the store reads and writes.

use time::OffsetDateTime;

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    /// Integer id.
    pub id: i64,
    /// Unique username.
    pub username: String,
    /// Unique (case-insensitive) e-mail.
    pub email: String,
    /// PHC string (Argon2id).
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// May log in and hold tokens.
    pub is_active: bool,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Creation time.
    pub date_joined: OffsetDateTime,
    /// Last successful login.
    pub last_login: Option<OffsetDateTime>,
}

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Validated username.
    pub username: String,
    /// Validated e-mail.
    pub email: String,
    /// PHC string.
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Active flag.
    pub is_active: bool,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Creation time.
    pub date_joined: OffsetDateTime,
}

/// Lifecycle state of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signing.
    Active,
    /// Published until its tokens expire.
    Retired,
}

impl KeyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(Self::Next),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// A signing key at rest: the private part sealed under the master key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// `RS256`, `ES256`, …, or `HS256` for the internal refresh MAC key (never published).
    pub alg: String,
    /// Lifecycle state.
    pub state: KeyState,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When it started signing.
    pub activated_at: Option<i64>,
    /// Nonce ‖ AES-256-GCM ciphertext ‖ tag.
    pub sealed_private: Vec<u8>,
}

/// A refresh token's server-side row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// Token id.
    pub jti: String,
    /// Rotation family.
    pub family: String,
    /// Owner.
    pub user_id: i64,
    /// OAuth client, when issued to one.
    pub client_id: Option<String>,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// The access token issued with it (revoked with the family).
    pub access_jti: String,
    /// That access token's expiry.
    pub access_expires_at: i64,
}

/// State of a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshState {
    /// May be used (once).
    Active,
    /// Already exchanged for its successor.
    Rotated,
    /// Ended by logout, reuse detection or an administrator.
    Revoked,
    /// Past its expiry.
    Expired,
}

/// Outcome of [`super::Store::rotate_refresh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The old token was consumed and the new one stored.
    Rotated,
    /// The token had already been rotated: its whole family is now revoked.
    Reused,
    /// The family had been revoked.
    Revoked,
    /// The token has expired.
    Expired,
    /// No such token.
    NotFound,
}
