//! `[tokens]` and `[users]`: what tokens say and how long they live, and what the user API
//! shows.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use tessera_proto::{Secret, UserField};
use tessera_token::Algorithm;

/// `[tokens]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Signature algorithm of access tokens: RS256, PS256, ES256 or EdDSA.
    pub algorithm: Algorithm,
    /// `aud` of access tokens; resource servers must expect it.
    pub audience: String,
    /// Access token lifetime.
    #[serde(with = "humantime_serde")]
    pub access_lifetime: Duration,
    /// Refresh token lifetime.
    #[serde(with = "humantime_serde")]
    pub refresh_lifetime: Duration,
    /// Clock skew tolerated when checking `exp`/`nbf`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// Whether `/auth/token/verify/` also accepts live refresh tokens (simplejwt does).
    pub verify_accepts_refresh: bool,
    /// Kid of an imported key whose djangorestframework-simplejwt tokens (no `kid`, no
    /// `iss`/`aud`) are accepted until `legacy_until`, during a migration.
    pub legacy_kid: Option<String>,
    /// PEM public keys (`PUBLIC KEY`, RS256) of that deployment: its access tokens verify
    /// until `legacy_until`, without Tessera holding the old private key.
    pub legacy_public_keys: Vec<PathBuf>,
    /// The HS256 signing key of that deployment (simplejwt's `SIGNING_KEY`, by default
    /// Django's `SECRET_KEY`): its refresh tokens are exchanged once each at
    /// `/auth/token/refresh/` for Tessera tokens until `legacy_until`.
    #[serde(skip_serializing)]
    pub legacy_hs256_secret: Option<Secret>,
    /// End of that acceptance (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub legacy_until: Option<time::OffsetDateTime>,
    /// What access tokens of users carry about them besides `user_id`, so resource
    /// services can authorize without calling back (empty roles/groups are left out).
    pub user_claims: Vec<UserClaim>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::RS256,
            audience: "tessera".into(),
            access_lifetime: Duration::from_secs(5 * 60),
            refresh_lifetime: Duration::from_secs(24 * 3600),
            leeway: Duration::from_secs(30),
            verify_accepts_refresh: false,
            legacy_kid: None,
            legacy_hs256_secret: None,
            legacy_public_keys: Vec::new(),
            legacy_until: None,
            user_claims: vec![UserClaim::Roles, UserClaim::Groups],
        }
    }
}

/// A user attribute an access token can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserClaim {
    /// `roles`: the user's role names.
    Roles,
    /// `groups`: the user's group names.
    Groups,
    /// `is_staff`.
    IsStaff,
    /// `is_superuser`.
    IsSuperuser,
}

/// `[users]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserSettings {
    /// Fields of `GET /auth/users/{id}/`, in order.
    pub fields: Vec<UserField>,
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            fields: UserField::DRF_REMOTEJWT.to_vec(),
        }
    }
}
