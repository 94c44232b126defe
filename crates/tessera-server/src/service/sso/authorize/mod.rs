//! The authorization endpoint's rules (RFC 6749 §4.1, OpenID Connect Core §3.1.2): which
//! requests are valid, and whether the browser must log in, consent, or gets a code.
//!
//! An error is redirected to the client only once the client and redirect URI are known
//! to be valid; before that it is shown on Tessera's own page (never an open redirect).
//!
//! - this file: the request's parameters, [`validate`], [`decide`];
//! - [`incoming`]: a pushed request's reference or a request object replaced by the
//!   values it stands for;
//! - [`seal`]: how a request came (pushed, signed), sealed through the forms, and what a
//!   client requires;
//! - [`consent`]: the consent page's ticket, approval and denial;
//! - [`code`]: codes, redirects, PKCE.

pub mod code;
pub mod consent;
pub mod incoming;
pub mod seal;

pub use code::{
    CODE_LIFETIME, error_redirect_url, pkce_matches, random_token, redirect_error, redirect_url,
};
pub use consent::{CONSENT_TICKET_LIFETIME, approve, consent_ticket, deny};
pub use incoming::{PUSHED_LIFETIME, PUSHED_URI_PREFIX, resolve_pushed, resolve_request_object};
pub use seal::{Provenance, SEAL_LIFETIME, require_provenance, seal, unseal};

use crate::domain::GrantType;
use crate::domain::Scope;
use crate::domain::authn::{Level, Methods};
use crate::service::authn::{self, Requirement};
use crate::service::client::ClientExt as _;
use crate::state::AppState;
use crate::store::{Client, Session, StoreError};
use code::issue_code;
use serde::{Deserialize, Serialize};
use tessera_token::RandomError;

/// The authorization request's parameters, as they arrive (query or form).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuthorizeParams {
    /// `code`.
    #[serde(default)]
    pub response_type: Option<String>,
    /// The client.
    #[serde(default)]
    pub client_id: Option<String>,
    /// One of the client's redirect URIs.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// Returned unchanged.
    #[serde(default)]
    pub state: Option<String>,
    /// Copied into the ID token.
    #[serde(default)]
    pub nonce: Option<String>,
    /// PKCE challenge.
    #[serde(default)]
    pub code_challenge: Option<String>,
    /// PKCE method: only `S256`.
    #[serde(default)]
    pub code_challenge_method: Option<String>,
    /// `none`, `login`, `consent` (space-separated).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Maximum age of the authentication, seconds.
    #[serde(default)]
    pub max_age: Option<String>,
    /// `query` only.
    #[serde(default)]
    pub response_mode: Option<String>,
    /// Requested authentication levels (`aal1`, `aal2`), space-separated.
    #[serde(default)]
    pub acr_values: Option<String>,
    /// A request object (JAR, RFC 9101), replaced by its parameters
    /// ([`resolve_request_object`]).
    #[serde(default)]
    pub request: Option<String>,
    /// A pushed request's `urn:ietf:params:oauth:request_uri:…` (RFC 9126); any other
    /// is answered `request_uri_not_supported`.
    #[serde(default)]
    pub request_uri: Option<String>,
    /// Tessera's seal ([`seal`]) over a request's values when the client vouched for them
    /// (pushed, or a signed request object), carried through the login and consent forms:
    /// they stay that request, unaltered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl AuthorizeParams {
    /// The authorization request's parameters, by name.
    pub const NAMES: [&'static str; 14] = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "response_mode",
        "acr_values",
        "request",
        "request_uri",
    ];
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The client.
    pub client: Client,
    /// The redirect URI (one of the client's).
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt=none`.
    pub prompt_none: bool,
    /// `prompt=login`.
    pub prompt_login: bool,
    /// `prompt=consent`.
    pub prompt_consent: bool,
    /// `max_age`.
    pub max_age: Option<i64>,
    /// The level `acr_values` asks for (the lowest of the values Tessera knows).
    pub acr: Option<Level>,
}

/// A request that cannot go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// Shown on Tessera's error page: the client or redirect URI is not trustworthy.
    #[error("{0}")]
    Page(String),
    /// Sent back to the client's redirect URI.
    #[error("{error}: {description}")]
    Redirect {
        /// Where.
        redirect_uri: String,
        /// `state` to echo.
        state: Option<String>,
        /// RFC 6749 §4.1.2.1 / OIDC §3.1.2.6 code.
        error: &'static str,
        /// Explanation.
        description: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// What the browser sees next.
#[derive(Debug)]
pub enum Next {
    /// The login page.
    Login,
    /// The consent page, for this session's user.
    Consent(Session),
    /// The session's level is too low for this request: a second factor first.
    StepUp(Session),
    /// A redirect to the client with a code.
    Redirect(String),
}

/// Validates a request: client and redirect URI first (errors on the page), then the rest
/// (errors redirected).
///
/// # Errors
/// [`AuthorizeError`].
pub async fn validate(
    state: &AppState,
    p: &AuthorizeParams,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let client = known_client(state, p).await?;
    let redirect_uri = trusted_redirect(&client, p)?;
    let fail = |error: &'static str, description: String| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: p.state.clone(),
        error,
        description,
    };
    if p.request.is_some() {
        return Err(fail(
            "invalid_request",
            "a request object may not hold another (request)".into(),
        ));
    }
    if p.request_uri.is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "only request_uri values from /oauth/par are supported".into(),
        ));
    }
    if p.response_type.as_deref() != Some("code") {
        return Err(fail(
            "unsupported_response_type",
            "only response_type=code is supported".into(),
        ));
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        return Err(fail(
            "invalid_request",
            "only response_mode=query is supported".into(),
        ));
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "this client is not registered for the authorization code grant".into(),
        ));
    }
    let scope = Scope::of(p.scope.as_deref().unwrap_or("")).normalized();
    if let Some(bad) = Scope::of(&scope).first_outside(Scope::of(&client.scope_string())) {
        return Err(fail(
            "invalid_scope",
            format!("scope {bad:?} is not allowed for this client"),
        ));
    }
    match (
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    ) {
        (Some(c), Some("S256")) if is_pkce_value(c) => {}
        (Some(_), Some("S256")) => {
            return Err(fail(
                "invalid_request",
                "code_challenge must be 43 to 128 characters of base64url".into(),
            ));
        }
        (Some(_), None | Some("plain")) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is refused)".into(),
            ));
        }
        (Some(_), Some(_)) | (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256, with a code_challenge".into(),
            ));
        }
        (None, None) if client.is_public() => {
            return Err(fail(
                "invalid_request",
                "a public client must use PKCE (code_challenge, S256)".into(),
            ));
        }
        (None, None) => {}
    }
    let prompts: Vec<&str> = p
        .prompt
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined".into(),
        ));
    }
    let max_age = match p.max_age.as_deref() {
        None | Some("") => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            fail(
                "invalid_request",
                "max_age must be a non-negative integer".into(),
            )
        })?),
    };
    Ok(AuthorizeRequest {
        redirect_uri: redirect_uri.clone(),
        scope,
        state: p.state.clone(),
        nonce: p.nonce.clone(),
        code_challenge: p.code_challenge.clone(),
        prompt_none,
        prompt_login: prompts.contains(&"login"),
        prompt_consent: prompts.contains(&"consent"),
        max_age,
        acr: p.acr_values.as_deref().and_then(Level::requested),
        client,
    })
}

/// The client the request names.
///
/// # Errors
/// [`AuthorizeError::Page`]: no client, or an unknown one.
async fn known_client(state: &AppState, p: &AuthorizeParams) -> Result<Client, AuthorizeError> {
    let client_id = p
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| AuthorizeError::Page("The request names no client (client_id).".into()))?;
    state
        .store
        .client(client_id)
        .await?
        .ok_or_else(|| AuthorizeError::Page(format!("Unknown client “{client_id}”.")))
}

/// The request's redirect URI if it is one of the client's (or the client's only one when
/// the request names none): the only place an error may be sent.
///
/// # Errors
/// [`AuthorizeError::Page`].
fn trusted_redirect(client: &Client, p: &AuthorizeParams) -> Result<String, AuthorizeError> {
    match p.redirect_uri.as_deref() {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => Ok(uri.to_owned()),
        None if client.redirect_uris.len() == 1 => Ok(client.redirect_uris[0].clone()),
        Some(_) => Err(AuthorizeError::Page(format!(
            "The redirect URI is not one registered for “{}”.",
            client.name
        ))),
        None => Err(AuthorizeError::Page(
            "The request must name a redirect_uri.".into(),
        )),
    }
}

fn is_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Decides what happens for `req` given the browser's session. `fresh` says the user
/// logged in during this very request (so `prompt=login` and `max_age` are satisfied).
///
/// # Errors
/// [`AuthorizeError::Redirect`] with `login_required`/`consent_required` for
/// `prompt=none`; store failures.
pub async fn decide(
    state: &AppState,
    req: &AuthorizeRequest,
    session: Option<Session>,
    fresh: bool,
) -> Result<Next, AuthorizeError> {
    let now = state.clock.unix();
    let session = session.filter(|s| {
        fresh || (!req.prompt_login && req.max_age.is_none_or(|max| now - s.auth_time <= max))
    });
    let Some(session) = session else {
        return if req.prompt_none {
            Err(redirect_error(
                req,
                "login_required",
                "the user must log in",
            ))
        } else {
            Ok(Next::Login)
        };
    };
    // A user an admin restricted to other services gets no code for this client (the token
    // endpoint would refuse it anyway; saying so now spares the consent page).
    let Some(user) = state.store.user_by_id(session.user_id).await? else {
        return Ok(Next::Login);
    };
    if !crate::service::token::may_use(&user, &req.client.client_id) {
        return Err(redirect_error(
            req,
            "access_denied",
            "this account may not use this application",
        ));
    }
    // The user, the client or the request asks for a second factor this session lacks.
    let required = authn::requirement(state, &user, Some(&req.client), req.acr).await?;
    if required != Requirement::PasswordOnly
        && Methods::parse(&session.methods).level() < Level::TwoFactors
    {
        return if req.prompt_none {
            Err(redirect_error(
                req,
                "interaction_required",
                "the user must sign in with a second factor",
            ))
        } else {
            Ok(Next::StepUp(session))
        };
    }
    if needs_consent(state, req, &session).await? {
        return if req.prompt_none {
            Err(redirect_error(
                req,
                "consent_required",
                "the user must consent",
            ))
        } else {
            Ok(Next::Consent(session))
        };
    }
    Ok(Next::Redirect(issue_code(state, req, &session).await?))
}

async fn needs_consent(
    state: &AppState,
    req: &AuthorizeRequest,
    session: &Session,
) -> Result<bool, AuthorizeError> {
    if req.client.first_party {
        return Ok(false);
    }
    if req.prompt_consent {
        return Ok(true);
    }
    let granted = state
        .store
        .consent(session.user_id, &req.client.client_id)
        .await?;
    Ok(!granted.is_some_and(|g| Scope::of(&req.scope).is_within(Scope::of(&g))))
}
