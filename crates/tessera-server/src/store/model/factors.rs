//! Second factors and the sign-ins waiting for one.

/// A user's TOTP secret (RFC 6238), sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct TotpSecret {
    /// The user.
    pub user_id: i64,
    /// The secret, sealed (`MasterKey::seal`, context `totp:<user id>`).
    #[serde(with = "super::keys::base64_bytes")]
    pub sealed: Vec<u8>,
    /// When enrolment began, Unix seconds.
    pub created_at: i64,
    /// When a first code confirmed it: until then it does not count.
    pub confirmed_at: Option<i64>,
    /// The highest time step accepted: a code of this step or an earlier one is refused.
    pub last_step: i64,
    /// When a code was last accepted.
    pub last_used_at: Option<i64>,
    /// Wrong codes in a row (at [`TOTP_MAX_FAILURES`] the secret takes no more codes).
    #[serde(default)]
    pub failures: i64,
}

/// Wrong TOTP codes in a row after which the authenticator takes no more (NIST SP
/// 800-63B §5.2.2: at most 100); an admin reset (or a recovery code and re-enrolment)
/// is the way back.
pub const TOTP_MAX_FAILURES: i64 = 100;

/// What is left of a user's recovery codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct RecoveryCodes {
    /// Codes not used yet.
    pub remaining: i64,
    /// When the set was made, Unix seconds.
    pub created_at: i64,
    /// When one was last used.
    pub last_used_at: Option<i64>,
}

/// A sign-in between its first and second factor (the Django API's `mfa_token`, the
/// browser's second-factor step).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MfaTicket {
    /// SHA-256 (hex) of the token; the token itself is never stored.
    pub token_hash: String,
    /// The user whose first factor was right.
    pub user_id: i64,
    /// The user's session epoch then: "end every session" voids the ticket.
    pub session_epoch: i64,
    /// The methods used so far (`domain::authn::Methods`, stored form).
    pub methods: String,
    /// Where it was issued and may be used: `api` or `browser`.
    pub purpose: String,
    /// Codes tried so far (each attempt is counted before its code is checked).
    pub failures: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

/// A passkey (WebAuthn credential) of a user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct PasskeyRow {
    /// The credential id, base64url.
    pub credential_id: String,
    /// The user.
    pub user_id: i64,
    /// The user's WebAuthn user handle (a UUID).
    pub handle: String,
    /// The name the user gave it.
    pub name: String,
    /// webauthn-rs's `Passkey`, JSON (public key, counter, backup state).
    pub passkey: String,
    /// When it was registered, Unix seconds.
    pub created_at: i64,
    /// When it was last used.
    pub last_used_at: Option<i64>,
}

/// A WebAuthn ceremony's server-side state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Ceremony {
    /// SHA-256 (hex) of the ceremony id the browser holds.
    pub id_hash: String,
    /// Whose (none for a usernameless sign-in).
    pub user_id: Option<i64>,
    /// `register`, `login`, `second_factor`.
    pub kind: String,
    /// webauthn-rs's state, JSON.
    pub state: String,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}
