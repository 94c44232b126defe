//! Refresh-token rows and what a rotation or a lookup finds; revoked access tokens.

use serde::{Deserialize, Serialize};

/// A live refresh family, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LiveFamily {
    /// Family id.
    pub family: String,
    /// The OAuth client, or none for the Django API.
    pub client_id: Option<String>,
    /// When its current refresh token was issued (the last login or refresh).
    pub issued_at: i64,
    /// When that token expires.
    pub expires_at: i64,
}

/// A refresh token's server-side row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Space-separated scopes granted (OAuth); a refresh may only narrow them.
    #[serde(default)]
    pub scope: Option<String>,
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

/// Stored state of a refresh token row (expiry is a separate check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    /// Not yet used.
    Active,
    /// Exchanged for `replaced_by`.
    Rotated,
    /// Ended.
    Revoked,
}

impl RowState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotated => "rotated",
            Self::Revoked => "revoked",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "rotated" => Some(Self::Rotated),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// A refresh token row with its state, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRow {
    /// The token.
    #[serde(flatten)]
    pub record: RefreshRecord,
    /// Its state.
    pub state: RowState,
    /// Its successor, once rotated.
    pub replaced_by: Option<String>,
}

/// An access token revoked before its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedAccess {
    /// Token id.
    pub jti: String,
    /// Its expiry, Unix seconds (the row is useless after it).
    pub expires_at: i64,
}
