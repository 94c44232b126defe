//! Browser sessions, authorization codes and the back-channel logout queue.

/// A back-channel logout token still to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutDelivery {
    /// Row id.
    pub id: i64,
    /// The client to tell.
    pub client_id: String,
    /// Its `backchannel_logout_uri` when the session ended.
    pub uri: String,
    /// The user (`sub`).
    pub sub: String,
    /// The session that ended (`sid`).
    pub sid: Option<String>,
    /// When the session ended, Unix seconds.
    pub created_at: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is due (the lease of an attempt in flight pushes it on).
    pub next_attempt_at: i64,
}

/// A browser SSO session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// SHA-256 (hex) of the cookie value; the cookie itself is never stored.
    pub token_hash: String,
    /// Public session id (`sid` in ID tokens).
    pub sid: String,
    /// The user.
    pub user_id: i64,
    /// When the user authenticated, Unix seconds.
    pub auth_time: i64,
    /// When the session ends by itself.
    pub expires_at: i64,
    /// The user's session epoch when the session started: it is live only while the user's
    /// epoch is still that one.
    pub session_epoch: i64,
    /// The methods the user authenticated with, and when (`domain::authn::Methods`, stored
    /// form).
    pub methods: String,
}

/// An authorization code's row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthCode {
    /// SHA-256 (hex) of the code.
    pub code_hash: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user.
    pub user_id: i64,
    /// The redirect URI of the request (must be repeated exactly).
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The request's `nonce`.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// The session it came from.
    pub sid: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Expiry (at most 60 s after issue).
    pub expires_at: i64,
    /// The session epoch it was issued in (its session's): redeemed only in that epoch.
    pub session_epoch: i64,
    /// Its session's methods when it was issued (the ID token's `amr` and `acr`).
    pub methods: String,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per code redemption, moved once"
)]
pub enum Redemption {
    /// First use: the code, now consumed.
    Valid(AuthCode),
    /// Used before: the tokens it gave are now revoked.
    Reused,
    /// Past its expiry.
    Expired,
    /// No such code.
    Unknown,
}
