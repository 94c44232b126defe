//! Issuing, rotating, verifying and revoking tokens: `issue` (every way a token is signed,
//! through `mint` for user tokens), `refresh` (rotation exactly once), `verify` (what a
//! presented token is worth), `legacy` (the simplejwt deployment being migrated from).

mod issue;
mod legacy;
mod refresh;
mod verify;

pub use issue::{
    Issued, access_lifetime, id_token_alg, issue_client_token, issue_for, issue_pair,
    issue_pair_for, may_use, sign_id_token, signing_alg,
};
pub use refresh::{Refreshed, refresh, refresh_for_client};
pub use verify::{Live, accepted, authenticate_bearer, blacklist, live_access, verify};

use crate::domain::time::seconds;
use crate::state::AppState;
use crate::store::{Client, StoreError, User};
use tessera_token::{RandomError, SignError, VerifyError};

/// A token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is invalid, expired, revoked, reused, or its user is gone or disabled.
    #[error("token not valid: {0}")]
    NotValid(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// No active key of the algorithm a client asked for.
    #[error("no active {0} key: run `tessera keys rotate --alg {0}`")]
    NoKeyFor(tessera_token::Algorithm),
    /// The signer (Vault's transit engine) failed.
    #[error(transparent)]
    Signer(#[from] crate::keys::SignerError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The user may not get tokens for this service (an admin restricted their services).
    #[error("the user may not use this service")]
    ServiceNotAllowed,
    /// A client registered before client ids had to contain a non-digit: its service
    /// token's `sub` would read as a user id.
    #[error("client ids of digits only get no service token; register the client again")]
    NumericClientId,
}

impl From<VerifyError> for TokenError {
    fn from(e: VerifyError) -> Self {
        tracing::debug!(reason = %e, "token refused");
        Self::NotValid("verification failed")
    }
}

/// Through which OAuth client, and with which scopes, tokens are issued. The Django API
/// issues with no client and no scope ([`Grant::DIRECT`]).
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// The client, whose lifetimes override the defaults.
    pub client: Option<&'a Client>,
    /// Space-separated scopes.
    pub scope: Option<&'a str>,
    /// The browser sign-in the grant began with (authorization code flow): its refresh
    /// tokens carry it, so an ID token issued on refresh repeats it.
    pub sign_in: Option<SignIn<'a>>,
    /// How the user authenticated (`auth_time`, `acr`, `amr` in the tokens); `None` for
    /// tokens that name no sign-in.
    pub authn: Option<&'a Authn>,
}

/// How the user authenticated, as the tokens say it: carried from the sign-in into every
/// token of its refresh family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authn {
    /// When the user authenticated, Unix seconds.
    pub auth_time: i64,
    /// The level reached (`acr`).
    pub acr: String,
    /// The methods used (`amr`, RFC 8176).
    pub amr: Vec<String>,
}

impl Authn {
    /// What `methods` give, for a sign-in at `auth_time`.
    pub fn of(methods: &crate::domain::authn::Methods, auth_time: i64) -> Self {
        Self {
            auth_time,
            acr: methods.level().acr().to_owned(),
            amr: methods.amr(),
        }
    }
}

/// A browser sign-in: its session id and when the user authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignIn<'a> {
    /// The session's public id (`sid`).
    pub sid: &'a str,
    /// When the user authenticated, Unix seconds.
    pub auth_time: i64,
}

impl Grant<'_> {
    /// The Django-compatible API: no client, no scope.
    pub const DIRECT: Grant<'static> = Grant {
        client: None,
        scope: None,
        sign_in: None,
        authn: None,
    };

    fn client_id(&self) -> Option<String> {
        self.client.map(|c| c.client_id.clone())
    }

    /// The service the tokens are for: the OAuth client, or the Django API's audience.
    fn service<'s>(&'s self, state: &'s AppState) -> &'s str {
        self.client
            .map_or(state.settings.tokens.audience.as_str(), |c| {
                c.client_id.as_str()
            })
    }

    fn access_lifetime(&self, state: &AppState) -> i64 {
        self.client
            .and_then(|c| c.access_lifetime)
            .unwrap_or_else(|| seconds(state.settings.tokens.access_lifetime))
    }

    fn refresh_lifetime(&self, state: &AppState) -> i64 {
        self.client
            .and_then(|c| c.refresh_lifetime)
            .unwrap_or_else(|| seconds(state.settings.tokens.refresh_lifetime))
    }
}

/// The active user `id` of a token issued in session epoch `sep`: refused when every
/// session of the user was ended since (log out everywhere, a password set, a disable).
pub(super) async fn current_user(state: &AppState, id: i64, sep: i64) -> Result<User, TokenError> {
    match state.store.user_by_id(id).await? {
        Some(u) if u.is_active && u.session_epoch == sep => Ok(u),
        Some(u) if u.is_active => Err(TokenError::NotValid("the user's sessions were ended since")),
        _ => Err(TokenError::NotValid("user missing or disabled")),
    }
}
