//! Records the store reads and writes. They serialise (for `tessera export`/`import`):
//! times as RFC 3339, sealed keys as base64; private keys stay sealed in an export.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `t` at microsecond precision: what both engines store (PostgreSQL's `timestamptz` keeps
/// microseconds), so a value reads back, exports and imports unchanged.
pub fn stored_time(t: std::time::SystemTime) -> OffsetDateTime {
    let t = OffsetDateTime::from(t);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
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
    #[serde(with = "time::serde::rfc3339")]
    pub date_joined: OffsetDateTime,
    /// Last successful login.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
    /// Role names (carried in access tokens when `[tokens] user_claims` has `roles`).
    #[sqlx(json)]
    #[serde(default)]
    pub roles: Vec<String>,
    /// Group names (`groups` claim).
    #[sqlx(json, rename = "group_names")]
    #[serde(default)]
    pub groups: Vec<String>,
    /// The services (OAuth client ids, or the Django API's audience) this user may get
    /// tokens for; `None`: every service.
    #[sqlx(json(nullable))]
    #[serde(default)]
    pub services: Option<Vec<String>>,
    /// The user proved the address (sign-up link); users made by an admin, the CLI or an
    /// import count as verified.
    #[serde(default = "verified")]
    pub email_verified: bool,
    /// How many times every session of this user was ended (log out everywhere, a
    /// password set, a disable). Tokens carry the epoch they were issued in; one of an
    /// earlier epoch is refused.
    #[serde(default)]
    pub session_epoch: i64,
    /// The account holds the id it had in the system it was imported from, so that
    /// system's tokens may name it during a legacy window (`[legacy]`). An export made
    /// before this field existed gives its users the benefit of the doubt, as the
    /// migration did.
    #[serde(default = "verified")]
    pub imported_id: bool,
}

fn verified() -> bool {
    true
}

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

/// What a mailed link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Proves the address of a new account.
    Verify,
    /// Lets the holder set a new password.
    Reset,
    /// Moves the account to the address it was sent to.
    Email,
}

impl LinkPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::Email => "email",
        }
    }
}

/// A stored link purpose Tessera does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown link purpose {0}")]
pub struct UnknownPurpose(String);

impl TryFrom<String> for LinkPurpose {
    type Error = UnknownPurpose;

    fn try_from(s: String) -> Result<Self, UnknownPurpose> {
        [Self::Verify, Self::Reset, Self::Email]
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(UnknownPurpose(s))
    }
}

/// A single-use link sent by e-mail.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserLink {
    /// SHA-256 (hex) of the token in the link.
    pub token_hash: String,
    /// Whose.
    pub user_id: i64,
    /// What following it does.
    #[sqlx(try_from = "String")]
    pub purpose: LinkPurpose,
    /// The address an `email` link sets.
    pub new_email: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// A `verify` link's sign-up: what following it activates (the pending account's own
    /// values otherwise).
    #[sqlx(flatten)]
    pub signup: PendingSignup,
}

/// What one sign-up chose, carried by its verification link: the hash of its password,
/// its username and names. `None` everywhere for other links.
#[derive(Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingSignup {
    /// Argon2id PHC string of the chosen password.
    pub password_hash: Option<String>,
    /// The chosen username.
    pub username: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
}

impl std::fmt::Debug for PendingSignup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignup")
            .field("password_hash", &self.password_hash.as_ref().map(|_| "…"))
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl User {
    /// A short digest of what a resource service copies of this user (every field of
    /// `/auth/users/{id}/` but `last_login` and the password): the access token's `uv`
    /// claim, so shadow copies refresh exactly when the user changed.
    pub fn profile_version(&self) -> String {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for field in [
            self.username.as_bytes(),
            self.email.as_bytes(),
            self.first_name.as_bytes(),
            self.last_name.as_bytes(),
        ] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field);
        }
        ctx.update(&self.id.to_be_bytes());
        ctx.update(&[
            u8::from(self.is_active),
            u8::from(self.is_staff),
            u8::from(self.is_superuser),
        ]);
        ctx.update(&self.date_joined.unix_timestamp_nanos().to_be_bytes());
        let digest = ctx.finish();
        crate::domain::digest::hex(&digest.as_ref()[..5])
    }
}

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The id to keep (an import from Django keeps Django's); `None`: the next free one.
    pub id: Option<i64>,
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
    /// Last login (imports bring it along; `None` for new users).
    pub last_login: Option<OffsetDateTime>,
    /// Role names.
    pub roles: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// Services the user may use; `None`: all.
    pub services: Option<Vec<String>>,
    /// Whether the address is proven.
    pub email_verified: bool,
    /// The id is the one the account had in the system it was imported from.
    pub imported_id: bool,
}

/// What a stored key is for: signing tokens with a JOSE algorithm, or the internal refresh
/// MAC (`HS256`, never published). Stored and exported under the algorithm's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KeyAlg {
    /// A signing key of this algorithm.
    Signing(tessera_token::Algorithm),
    /// The refresh-token MAC key.
    Mac,
}

impl KeyAlg {
    /// The stored name of the MAC key's algorithm.
    pub const MAC: &'static str = "HS256";

    /// The stored name: `RS256`, `ES256`, …, or `HS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signing(alg) => alg.as_str(),
            Self::Mac => Self::MAC,
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        if s == Self::MAC {
            Some(Self::Mac)
        } else {
            s.parse().ok().map(Self::Signing)
        }
    }
}

impl TryFrom<String> for KeyAlg {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown key algorithm {s}"))
    }
}

impl std::fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<KeyAlg> for String {
    fn from(alg: KeyAlg) -> Self {
        alg.as_str().to_owned()
    }
}

/// Lifecycle state of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// Its algorithm, or the internal refresh MAC key's (never published).
    pub alg: KeyAlg,
    /// Lifecycle state.
    pub state: KeyState,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When it started signing.
    pub activated_at: Option<i64>,
    /// When a retired key may leave the JWKS (every token it signed has expired).
    #[serde(default)]
    pub retire_after: Option<i64>,
    /// Nonce ‖ AES-256-GCM ciphertext ‖ tag.
    #[serde(with = "base64_bytes")]
    pub sealed_private: Vec<u8>,
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

/// An OAuth client as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// Public identifier.
    pub client_id: String,
    /// Name shown to users.
    pub name: String,
    /// Hex SHA-256 of the secret (a confidential client), or none (a public client).
    pub secret_hash: Option<String>,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Grant types it may use.
    pub grants: Vec<crate::domain::GrantType>,
    /// Scopes it may ask for.
    pub scopes: Vec<String>,
    /// Trusted (skips consent; may use the password grant when allowed).
    pub first_party: bool,
    /// Access token lifetime override, seconds.
    pub access_lifetime: Option<i64>,
    /// Refresh token lifetime override, seconds.
    pub refresh_lifetime: Option<i64>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// The algorithm its ID tokens are signed with (`id_token_signed_response_alg`);
    /// `None`: the server's `tokens.algorithm`.
    #[serde(default)]
    pub id_token_alg: Option<String>,
    /// Audiences its user tokens carry beside its own client id (granted by a superuser:
    /// the Django API's `[tokens] audience` makes them usable there and at the services
    /// that verify that audience).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Where an RP-initiated logout may return to (`post_logout_redirect_uris`), matched
    /// exactly.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Whether its logout tokens must carry `sid` (they always do).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// The page the logged-out page loads in an iframe (Front-Channel Logout 1.0).
    #[serde(default)]
    pub frontchannel_logout_uri: Option<String>,
    /// Whether that page wants `iss` and `sid` (it always gets them).
    #[serde(default)]
    pub frontchannel_logout_session_required: bool,
    /// Whether its authorization requests must be pushed first (RFC 9126).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// The public keys its request objects are signed with, a JWKS document (`jwks`).
    #[serde(default)]
    pub jwks: Option<String>,
    /// Where those keys are published instead (`jwks_uri`).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// The only algorithm its request objects may use (`request_object_signing_alg`;
    /// `none` allows unsigned ones).
    #[serde(default)]
    pub request_object_signing_alg: Option<String>,
    /// Whether every authorization request must be a signed request object (RFC 9101
    /// §10.5).
    #[serde(default)]
    pub require_signed_request_object: bool,
}

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
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
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

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

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
