//! Audit events.

use serde::{Deserialize, Serialize};

/// An audit event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Sequence number (0 before it is stored).
    pub id: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// What: `login.success`, `login.failure`, `login.throttled`, `token.reuse_detected`,
    /// `token.family_revoked`, `user.created`, `user.password_set`, `user.disabled`,
    /// `user.enabled`, `client.created`, `client.deleted`, `client.secret_rotated`,
    /// `key.staged`, `key.activated`, `key.revoked`, `key.retired`, `keys.rewrapped`.
    pub kind: String,
    /// Who did it: a user id, a client id, or `cli`.
    pub actor: Option<String>,
    /// What it was done to: a user id, a login id as typed, a client id, a kid, a family.
    pub subject: Option<String>,
    /// The client IP, for requests.
    pub ip: Option<String>,
    /// Anything else, short; never a secret.
    pub detail: Option<String>,
}
