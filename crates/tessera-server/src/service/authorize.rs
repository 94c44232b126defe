//! The authorization endpoint's rules (RFC 6749 §4.1, OpenID Connect Core §3.1.2): which
//! requests are valid, and whether the browser must log in, consent, or gets a code.
//!
//! An error is redirected to the client only once the client and redirect URI are known
//! to be valid; before that it is shown on Tessera's own page (never an open redirect).

use crate::domain::GrantType;
use crate::service::client::ClientExt as _;
use crate::service::token::is_subset;
use crate::state::AppState;
use crate::store::{AuthCode, Client, Session, StoreError};
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tessera_token::RandomError;
use url::Url;

/// How long a code may wait to be redeemed.
pub const CODE_LIFETIME: i64 = 60;

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
    pub const NAMES: [&'static str; 13] = [
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
        "request",
        "request_uri",
    ];
}

/// How a request reached Tessera: what vouches for its values besides the browser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Provenance {
    /// Pushed to `/oauth/par` by the client (RFC 9126).
    pub pushed: bool,
    /// A request object signed with one of the client's keys (RFC 9101).
    pub signed: bool,
}

impl Provenance {
    fn flags(self) -> &'static str {
        match (self.pushed, self.signed) {
            (true, true) => "ps",
            (true, false) => "p",
            (false, true) => "s",
            (false, false) => "",
        }
    }
}

const SEAL_PURPOSE: &str = "vouched-request";

/// How long a seal holds: as long as a consent page may be answered (a user signing in
/// takes that long at most). A request the client vouched for is taken at the
/// authorization endpoint once (a pushed request is used up, a request object is checked
/// there); past this, its forms are refused.
pub const SEAL_LIFETIME: i64 = CONSENT_TICKET_LIFETIME;

/// The request's values without the seal, in a fixed order (the struct's), after how
/// they came and until when the seal holds.
fn sealed_message(params: &AuthorizeParams, how: Provenance, expires_at: i64) -> Vec<u8> {
    let unsealed = AuthorizeParams {
        sealed: None,
        ..params.clone()
    };
    let mut message = format!("{}\n{expires_at}\n", how.flags()).into_bytes();
    message.extend(serde_json::to_vec(&unsealed).unwrap_or_default());
    message
}

/// Seals `params` as a request that came as `how` says, for [`SEAL_LIFETIME`] seconds:
/// `<flags>.<expires at>.<HMAC under the internal key>`. A request nothing vouches for
/// gets no seal.
pub fn seal(state: &AppState, params: &AuthorizeParams, how: Provenance) -> Option<String> {
    if how == Provenance::default() {
        return None;
    }
    let expires_at = state.clock.unix().saturating_add(SEAL_LIFETIME);
    let tag = state
        .keys
        .current()
        .mac()
        .tag(SEAL_PURPOSE, &sealed_message(params, how, expires_at));
    Some(format!(
        "{}.{expires_at}.{}",
        how.flags(),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// How `params` came, by their seal (none: nothing vouches for them).
///
/// # Errors
/// [`AuthorizeError::Page`] for a seal that does not match (the form was altered) or has
/// expired.
pub fn unseal(state: &AppState, params: &AuthorizeParams) -> Result<Provenance, AuthorizeError> {
    let Some(seal) = params.sealed.as_deref() else {
        return Ok(Provenance::default());
    };
    let mut parts = seal.splitn(3, '.');
    let (Some(flags), Some(expires_at), Some(tag)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(altered());
    };
    let how = match flags {
        "ps" => Provenance {
            pushed: true,
            signed: true,
        },
        "p" => Provenance {
            pushed: true,
            signed: false,
        },
        "s" => Provenance {
            pushed: false,
            signed: true,
        },
        _ => return Err(altered()),
    };
    let (Ok(expires_at), Ok(tag)) = (expires_at.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else {
        return Err(altered());
    };
    if !state.keys.current().mac().verify_tag(
        SEAL_PURPOSE,
        &sealed_message(params, how, expires_at),
        &tag,
    ) {
        return Err(altered());
    }
    if state.clock.unix() > expires_at {
        return Err(AuthorizeError::Page(
            "This sign-in form expired. Go back to the app and start again.".into(),
        ));
    }
    Ok(how)
}

fn altered() -> AuthorizeError {
    AuthorizeError::Page(
        "This sign-in form was altered. Go back to the app and start again.".into(),
    )
}

/// The prefix of the `request_uri`s `/oauth/par` hands out (RFC 9126 §2.2).
pub const PUSHED_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a pushed request may wait for its browser (RFC 9126 suggests 5 to 600 s).
pub const PUSHED_LIFETIME: i64 = 60;

/// Replaces a pushed request's `request_uri` by the request it stands for (used once;
/// `client_id` must be the pushing client's), sealed as pushed when it was stored.
/// Requests without one pass unchanged; a `request_uri` of another kind is left for
/// [`validate`] to refuse.
///
/// # Errors
/// [`AuthorizeError::Page`] for an unknown, used, expired or another client's pushed
/// request (no redirect URI can be trusted for it).
pub async fn resolve_pushed(
    state: &AppState,
    params: AuthorizeParams,
) -> Result<AuthorizeParams, AuthorizeError> {
    let Some(uri) = params
        .request_uri
        .as_deref()
        .filter(|u| u.starts_with(PUSHED_URI_PREFIX))
    else {
        return Ok(params);
    };
    let gone = || {
        AuthorizeError::Page(
            "This sign-in link was already used or has expired. Go back to the app and start again."
                .into(),
        )
    };
    let (client_id, stored) = state
        .store
        .take_pushed_request(&sha256_hex(uri), state.clock.unix())
        .await?
        .ok_or_else(gone)?;
    if params.client_id.as_deref() != Some(client_id.as_str()) {
        return Err(gone());
    }
    serde_json::from_str(&stored)
        .map_err(|_| AuthorizeError::Page("The pushed request could not be read.".into()))
}

/// Replaces a request object (`request`, RFC 9101) by the parameters it carries, sealed
/// as signed when it was; requests without one pass unchanged. The outer `client_id` must
/// name a client and be the object's; refusals go to the outer `redirect_uri` when it is
/// one of that client's.
///
/// # Errors
/// [`AuthorizeError::Page`] for an unknown client or untrusted redirect URI;
/// [`AuthorizeError::Redirect`] `invalid_request` (with `request_uri` too) or
/// `invalid_request_object`.
pub async fn resolve_request_object(
    state: &AppState,
    params: AuthorizeParams,
) -> Result<AuthorizeParams, AuthorizeError> {
    let Some(request) = params.request.as_deref() else {
        return Ok(params);
    };
    let client = known_client(state, &params).await?;
    let fail =
        |error: &'static str, description: String| -> Result<AuthorizeError, AuthorizeError> {
            Ok(AuthorizeError::Redirect {
                redirect_uri: trusted_redirect(&client, &params)?,
                state: params.state.clone(),
                error,
                description,
            })
        };
    if params.request_uri.is_some() {
        return Err(fail(
            "invalid_request",
            "request and request_uri cannot both be sent".into(),
        )?);
    }
    match super::request_object::resolve(state, &client, request, false).await {
        Ok(resolved) => {
            let mut inner = resolved.params;
            let how = Provenance {
                pushed: false,
                signed: resolved.signed,
            };
            inner.sealed = seal(state, &inner, how);
            Ok(inner)
        }
        Err(e) => Err(fail("invalid_request_object", e.0)?),
    }
}

/// Refuses a request whose provenance the client, or the server, requires and it lacks:
/// pushed first (RFC 9126 §5–6), or a signed request object (RFC 9101 §10.5).
///
/// # Errors
/// [`AuthorizeError::Redirect`] `invalid_request`.
pub fn require_provenance(
    state: &AppState,
    req: &AuthorizeRequest,
    how: Provenance,
) -> Result<(), AuthorizeError> {
    let must_push = state.settings.sso.require_pushed_authorization_requests
        || req.client.require_pushed_authorization_requests;
    if must_push && !how.pushed {
        return Err(redirect_error(
            req,
            "invalid_request",
            "this client must push its authorization requests to /oauth/par first",
        ));
    }
    if req.client.require_signed_request_object && !how.signed {
        return Err(redirect_error(
            req,
            "invalid_request",
            "this client must send its authorization requests as signed request objects",
        ));
    }
    Ok(())
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
    let scope = p
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(bad) = scope
        .split_whitespace()
        .find(|s| !is_subset(s, &client.scope_string()))
    {
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
    let user = state.store.user_by_id(session.user_id).await?;
    if user.is_some_and(|u| !super::token::may_use(&u, &req.client.client_id)) {
        return Err(redirect_error(
            req,
            "access_denied",
            "this account may not use this application",
        ));
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
    Ok(!granted.is_some_and(|g| is_subset(&req.scope, &g)))
}

/// How long a consent page may be answered.
pub const CONSENT_TICKET_LIFETIME: i64 = 600;

const CONSENT_PURPOSE: &str = "consent";

/// The consent page's proof that Tessera decided, for this very request and session, that
/// only consent was missing: `<issued at>.<tag>`, the tag an HMAC (the internal MAC key,
/// purpose `consent`) of the time, the session and every request value a code carries.
pub fn consent_ticket(state: &AppState, req: &AuthorizeRequest, session: &Session) -> String {
    let now = state.clock.unix();
    let tag = state
        .keys
        .current()
        .mac()
        .tag(CONSENT_PURPOSE, &ticket_message(now, req, session));
    format!("{now}.{}", URL_SAFE_NO_PAD.encode(tag))
}

fn consent_ticket_ok(
    state: &AppState,
    req: &AuthorizeRequest,
    session: &Session,
    ticket: &str,
) -> bool {
    let Some((at, tag)) = ticket.split_once('.') else {
        return false;
    };
    let (Ok(at), Ok(tag)) = (at.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else {
        return false;
    };
    let now = state.clock.unix();
    (at..=at.saturating_add(CONSENT_TICKET_LIFETIME)).contains(&now)
        && state.keys.current().mac().verify_tag(
            CONSENT_PURPOSE,
            &ticket_message(at, req, session),
            &tag,
        )
}

/// What a consent ticket binds, each value length-prefixed so no two requests share bytes:
/// the session, and every value of the request (what the code carries, and `state`,
/// `prompt` and `max_age`, which decided that only consent was missing).
fn ticket_message(at: i64, req: &AuthorizeRequest, session: &Session) -> Vec<u8> {
    let mut out = Vec::new();
    let values = [
        Some(at.to_string()),
        Some(session.sid.clone()),
        Some(session.auth_time.to_string()),
        Some(req.client.client_id.clone()),
        Some(req.redirect_uri.clone()),
        Some(req.scope.clone()),
        req.nonce.clone(),
        req.code_challenge.clone(),
        req.state.clone(),
        req.max_age.map(|m| m.to_string()),
        Some(format!(
            "{}{}{}",
            u8::from(req.prompt_none),
            u8::from(req.prompt_login),
            u8::from(req.prompt_consent)
        )),
    ];
    for v in values {
        match v {
            Some(v) => {
                out.extend_from_slice(&(v.len() as u64).to_be_bytes());
                out.extend_from_slice(v.as_bytes());
            }
            None => out.extend_from_slice(&u64::MAX.to_be_bytes()),
        }
    }
    out
}

/// The user answered "Allow" on the consent page. With the page's ticket, the consent is
/// remembered and a code issued; without a valid one (the form posted directly, another
/// session, a changed request, an old page) the request is decided again from the start,
/// so `prompt=login`, `max_age` and the user's services are checked as for any request.
///
/// # Errors
/// Store failures; the errors of [`decide`].
pub async fn approve(
    state: &AppState,
    req: &AuthorizeRequest,
    session: Session,
    ticket: &str,
) -> Result<Next, AuthorizeError> {
    if !consent_ticket_ok(state, req, &session, ticket) {
        return decide(state, req, Some(session), false).await;
    }
    let granted = state
        .store
        .consent(session.user_id, &req.client.client_id)
        .await?
        .unwrap_or_default();
    let mut all: Vec<&str> = granted.split_whitespace().collect();
    for s in req.scope.split_whitespace() {
        if !all.contains(&s) {
            all.push(s);
        }
    }
    state
        .store
        .grant_consent(
            session.user_id,
            &req.client.client_id,
            &all.join(" "),
            state.clock.unix(),
        )
        .await?;
    Ok(Next::Redirect(issue_code(state, req, &session).await?))
}

/// The user denied consent.
pub fn deny(state: &AppState, req: &AuthorizeRequest) -> String {
    error_redirect_url(
        state,
        &req.redirect_uri,
        "access_denied",
        "the user denied the request",
        req.state.as_deref(),
    )
}

/// An error answer sent back to the client (RFC 6749 §4.1.2.1): `error`,
/// `error_description` in RFC 6749's characters, `state`, and `iss` (RFC 9207: every
/// authorization response names the issuer, errors included).
pub fn error_redirect_url(
    state: &AppState,
    redirect_uri: &str,
    error: &str,
    description: &str,
    client_state: Option<&str>,
) -> String {
    let description = tessera_proto::oauth::error_description(description);
    redirect_url(
        redirect_uri,
        &[
            ("error", Some(error)),
            ("error_description", Some(description.as_str())),
            ("state", client_state),
            ("iss", Some(state.issuer.as_str())),
        ],
    )
}

/// Stores a code for this request and returns the redirect carrying it (with `state` and
/// `iss`, RFC 9207).
async fn issue_code(
    state: &AppState,
    req: &AuthorizeRequest,
    session: &Session,
) -> Result<String, AuthorizeError> {
    let code = random_token()?;
    let now = state.clock.unix();
    state
        .store
        .insert_code(&AuthCode {
            code_hash: sha256_hex(&code),
            client_id: req.client.client_id.clone(),
            user_id: session.user_id,
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            sid: session.sid.clone(),
            auth_time: session.auth_time,
            expires_at: now + CODE_LIFETIME,
            session_epoch: session.session_epoch,
        })
        .await?;
    Ok(redirect_url(
        &req.redirect_uri,
        &[
            ("code", Some(code.as_str())),
            ("state", req.state.as_deref()),
            ("iss", Some(state.issuer.as_str())),
        ],
    ))
}

/// The error redirect for a validated request.
pub fn redirect_error(
    req: &AuthorizeRequest,
    error: &'static str,
    description: &str,
) -> AuthorizeError {
    AuthorizeError::Redirect {
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        error,
        description: description.to_owned(),
    }
}

/// `uri` with `params` appended to its query (keeping the query it has).
pub fn redirect_url(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            let present: Vec<(&str, &str)> = params
                .iter()
                .filter_map(|(k, v)| Some((*k, (*v)?)))
                .collect();
            // Nothing to add: the URI as registered (no empty `?`).
            if !present.is_empty() {
                url.query_pairs_mut().extend_pairs(present);
            }
            url.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// 256 random bits, base64url (codes and session cookies).
///
/// # Errors
/// [`RandomError`].
pub fn random_token() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RandomError)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256: how codes and session cookies are stored.
pub fn sha256_hex(value: &str) -> String {
    crate::service::client::hash_secret(value)
}

/// The PKCE check (RFC 7636 §4.6): `BASE64URL(SHA256(verifier)) == challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    if !is_pkce_value(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            redirect_url(
                "https://app.example/cb?tenant=1",
                &[("code", Some("a b")), ("state", None)]
            ),
            "https://app.example/cb?tenant=1&code=a+b"
        );
    }
}
