//! Verification of access and refresh tokens, with secure defaults.
//!
//! The order of checks: size → header → key by `kid` → the key's own algorithm must be the
//! header's → `typ` → signature → `iss`, `aud` → `token_type` → `exp`/`nbf`/`iat`
//! against the injected time with the leeway.
//!
//! Access tokens, the hot path of every resource server, are checked with the key as
//! aws-lc-rs parsed it once (jsonwebtoken rebuilds the key on every call, about a quarter
//! of the verification time); refresh tokens go through jsonwebtoken's HMAC check.
//!
//! Over 500 lines as one concept: every check a token passes, in the order it passes them;
//! half of the file is the rules' documentation.

use crate::claims::{AccessClaims, RefreshClaims, TokenType};
use crate::error::VerifyError;
use crate::jwks::{KeySet, PublicKey};
use crate::mac::MacKey;
use crate::sign::{ACCESS_TYP, JWT_TYP};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Header, decode, decode_header};
use serde::de::DeserializeOwned;

/// What a token must satisfy besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// Required `iss`. Always checked.
    pub issuer: String,
    /// Required member of `aud` for access tokens. Always checked.
    pub audience: String,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. Default 30.
    pub leeway: i64,
    /// Tokens longer than this (bytes) are refused before any parsing. Default 8 KiB.
    pub max_len: usize,
    /// The longest `exp - iat` an access token may claim (seconds): the longest lifetime
    /// the authority issues. Default [`MAX_PLAUSIBLE_LIFETIME`] (ten years); a service that
    /// knows its authority's configuration sets it lower.
    pub max_lifetime: i64,
}

impl Validation {
    /// Secure defaults for this issuer and audience.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: 30,
            max_len: 8 * 1024,
            max_lifetime: MAX_PLAUSIBLE_LIFETIME,
        }
    }
}

/// Verifies an access token against the published keys.
///
/// # Errors
/// A [`VerifyError`] naming the first check that failed.
pub fn verify_access(
    token: &str,
    keys: &KeySet,
    validation: &Validation,
    now: i64,
) -> Result<AccessClaims, VerifyError> {
    let claims = verify_access_any_audience(token, keys, validation, now)?;
    if !claims.aud.contains(&validation.audience) {
        return Err(VerifyError::WrongAudience);
    }
    Ok(claims)
}

/// Verifies an access token like [`verify_access`] except for its audience, which is
/// left to the caller: for an authority that issues tokens to many audiences and decides
/// per surface which it accepts (introspection describes any of them).
///
/// # Security
/// The caller must check `aud` (or an equivalent binding) before trusting the token for
/// anything but describing it.
///
/// # Errors
/// A [`VerifyError`] naming the first check that failed.
pub fn verify_access_any_audience(
    token: &str,
    keys: &KeySet,
    validation: &Validation,
    now: i64,
) -> Result<AccessClaims, VerifyError> {
    let header = header_of(token, validation)?;
    let key = key_for(&header, keys)?;
    let typ = header
        .typ
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if typ != ACCESS_TYP && typ != "application/at+jwt" {
        return Err(VerifyError::WrongType);
    }
    let claims: AccessClaims = verified_claims(token, key)?;
    if claims.iss != validation.issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if claims.token_type != TokenType::Access {
        return Err(VerifyError::WrongType);
    }
    plausible_lifetime(
        claims.iat,
        claims.exp,
        validation.max_lifetime,
        validation.leeway,
    )?;
    check_times(
        claims.exp,
        Some(claims.nbf),
        claims.iat,
        now,
        validation.leeway,
    )?;
    Ok(claims)
}

/// Verifies an ID token this issuer signed, given back as an `id_token_hint` (OpenID
/// Connect RP-Initiated Logout §2): a published key by `kid` with the header's algorithm,
/// the signature, `iss`. Not its expiry: a hint may be presented after the token expired,
/// and it only says who the relying party believes is signed in. The caller decides what
/// the claims are worth (Tessera ends a session without asking only when `sub` is the
/// session's user).
///
/// # Errors
/// A [`VerifyError`] naming the first check that failed.
pub fn verify_id_token_hint(
    token: &str,
    keys: &KeySet,
    validation: &Validation,
) -> Result<crate::oidc::IdClaims, VerifyError> {
    let header = header_of(token, validation)?;
    let key = key_for(&header, keys)?;
    let typ = header
        .typ
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if typ == ACCESS_TYP
        || typ == "application/at+jwt"
        || typ == crate::oidc::LOGOUT_TYP
        || typ == "application/logout+jwt"
    {
        return Err(VerifyError::WrongType);
    }
    let claims: crate::oidc::IdClaims = verified_claims(token, key)?;
    if claims.iss != validation.issuer {
        return Err(VerifyError::WrongIssuer);
    }
    Ok(claims)
}

/// Verifies a logout token (OpenID Connect Back-Channel Logout 1.0 §2.6) for the client
/// `validation.audience` of the issuer `validation.issuer`: a published key by `kid` with
/// that key's own algorithm, no `crit`, `typ` `logout+jwt` when present, the signature,
/// `iss`, `aud`, `iat` no older than `max_age` seconds (nor in the future, beyond the
/// leeway), `exp` when present, `sub` or `sid`, the back-channel logout event, no `nonce`,
/// a `jti`. Replays are the caller's to refuse, by `jti`.
///
/// # Errors
/// A [`VerifyError`] naming the first check that failed.
pub fn verify_logout_token(
    token: &str,
    keys: &KeySet,
    validation: &Validation,
    now: i64,
    max_age: i64,
) -> Result<crate::oidc::LogoutClaims, VerifyError> {
    let header = header_of(token, validation)?;
    let key = key_for(&header, keys)?;
    if let Some(typ) = header.typ.as_deref() {
        let typ = typ.to_ascii_lowercase();
        if typ != crate::oidc::LOGOUT_TYP && typ != "application/logout+jwt" {
            return Err(VerifyError::WrongType);
        }
    }
    let claims: crate::oidc::LogoutClaims = verified_claims(token, key)?;
    if claims.iss != validation.issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if !claims.aud.contains(&validation.audience) {
        return Err(VerifyError::WrongAudience);
    }
    if claims.iat
        < now
            .saturating_sub(max_age)
            .saturating_sub(validation.leeway)
    {
        return Err(VerifyError::Expired);
    }
    check_times(
        claims.exp.unwrap_or(i64::MAX),
        None,
        claims.iat,
        now,
        validation.leeway,
    )?;
    if claims.sub.is_none() && claims.sid.is_none() {
        return Err(VerifyError::InvalidClaim("sub or sid"));
    }
    if !claims
        .events
        .get(crate::oidc::BACKCHANNEL_LOGOUT_EVENT)
        .is_some_and(serde_json::Value::is_object)
    {
        return Err(VerifyError::InvalidClaim("events"));
    }
    if claims.nonce.is_some() {
        return Err(VerifyError::InvalidClaim("nonce"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(VerifyError::InvalidClaim("jti"));
    }
    Ok(claims)
}

/// The published key the header's `kid` names, refused unless the header's `alg` is that
/// key's own (the key decides the algorithm, never the token).
fn key_for<'k>(header: &Header, keys: &'k KeySet) -> Result<&'k PublicKey, VerifyError> {
    let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
    let key = keys.get(kid).ok_or(VerifyError::UnknownKey)?;
    if header.alg != key.alg().to_jwt() {
        return Err(VerifyError::AlgorithmNotAllowed);
    }
    Ok(key)
}

/// Checks the signature with the key parsed once (aws-lc-rs), then reads the claims. The
/// header was read and matched to `key` by the caller.
pub(crate) fn verified_claims<T: DeserializeOwned>(
    token: &str,
    key: &PublicKey,
) -> Result<T, VerifyError> {
    let (message, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
    let (_, payload) = message.split_once('.').ok_or(VerifyError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| VerifyError::Malformed)?;
    key.parsed()
        .verify_sig(message.as_bytes(), &signature)
        .map_err(|_| VerifyError::InvalidSignature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&payload).map_err(|_| VerifyError::InvalidClaim("claims"))
}

/// Claims of an access token as djangorestframework-simplejwt issues it: no `iss`,
/// `aud`, `sub` or `nbf` unless the deployment configured them.
#[derive(serde::Deserialize)]
struct LegacyClaims {
    token_type: TokenType,
    exp: i64,
    iat: i64,
    jti: String,
    user_id: serde_json::Value,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<crate::claims::Audience>,
}

/// Verifies an access token issued by a djangorestframework-simplejwt deployment before it
/// moved to Tessera: a header without `kid` (its `alg` must be `key`'s), signed by `key`
/// (the imported Django key), `token_type: "access"`, `exp`/`iat` checked with the
/// leeway, `user_id` an integer; `iss` and `aud` are checked when present. The claims
/// are returned in Tessera's shape (`iss` and `aud` as `validation` names them, `sub` the
/// user id). Callers decide until when such tokens are accepted.
///
/// # Errors
/// A [`VerifyError`] naming the first check that failed.
pub fn verify_legacy_access(
    token: &str,
    key: &PublicKey,
    validation: &Validation,
    now: i64,
) -> Result<AccessClaims, VerifyError> {
    legacy_header(token, validation, key.alg().to_jwt())?;
    let (message, signature) = split_signature(token)?;
    if !key.verifies(message.as_bytes(), &signature) {
        return Err(VerifyError::InvalidSignature);
    }
    let (legacy, user_id) = legacy_claims(message, TokenType::Access, validation, now)?;
    Ok(AccessClaims {
        iss: validation.issuer.clone(),
        sub: user_id.to_string(),
        aud: crate::claims::Audience::One(validation.audience.clone()),
        exp: legacy.exp,
        iat: legacy.iat,
        nbf: legacy.iat,
        jti: legacy.jti,
        token_type: TokenType::Access,
        user_id: Some(user_id),
        client_id: None,
        scope: None,
        uv: None,
        roles: Vec::new(),
        groups: Vec::new(),
        is_staff: None,
        is_superuser: None,
        sep: 0,
        auth_time: None,
        acr: None,
        amr: Vec::new(),
    })
}

/// A refresh token of the simplejwt deployment Tessera replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRefresh {
    /// Its `jti` (to use it up once).
    pub jti: String,
    /// The user it was issued to.
    pub user_id: i64,
    /// Its expiry.
    pub exp: i64,
    /// When it was issued.
    pub iat: i64,
}

/// Verifies a refresh token issued by a djangorestframework-simplejwt deployment with its
/// default HS256 signing (the old `SIGNING_KEY`, usually Django's `SECRET_KEY`): header
/// without `kid`, alg HS256, HMAC checked in constant time, `token_type: "refresh"`, times
/// with the leeway, `iss`/`aud` when present, an integer `user_id`. Using it up exactly once
/// and until when such tokens count are the caller's decisions.
///
/// # Errors
/// A [`VerifyError`] naming the first check that failed.
pub fn verify_legacy_refresh(
    token: &str,
    secret: &[u8],
    validation: &Validation,
    now: i64,
) -> Result<LegacyRefresh, VerifyError> {
    legacy_header(token, validation, jsonwebtoken::Algorithm::HS256)?;
    let (message, signature) = split_signature(token)?;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::verify(&key, message.as_bytes(), &signature)
        .map_err(|_| VerifyError::InvalidSignature)?;
    let (legacy, user_id) = legacy_claims(message, TokenType::Refresh, validation, now)?;
    Ok(LegacyRefresh {
        jti: legacy.jti,
        user_id,
        exp: legacy.exp,
        iat: legacy.iat,
    })
}

/// A simplejwt header: no `kid`, the expected `alg`, `typ` absent or `JWT`.
fn legacy_header(
    token: &str,
    validation: &Validation,
    alg: jsonwebtoken::Algorithm,
) -> Result<(), VerifyError> {
    let header = header_of(token, validation)?;
    if header.kid.is_some() {
        return Err(VerifyError::UnknownKey);
    }
    if header.alg != alg {
        return Err(VerifyError::AlgorithmNotAllowed);
    }
    if !matches!(header.typ.as_deref(), None | Some("JWT")) {
        return Err(VerifyError::WrongType);
    }
    Ok(())
}

/// `header.payload` and the decoded signature.
fn split_signature(token: &str) -> Result<(&str, Vec<u8>), VerifyError> {
    let (message, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| VerifyError::Malformed)?;
    Ok((message, signature))
}

/// The claims of a signature-checked simplejwt token, checked, and its user id.
fn legacy_claims(
    message: &str,
    kind: TokenType,
    validation: &Validation,
    now: i64,
) -> Result<(LegacyClaims, i64), VerifyError> {
    let (_, payload) = message.split_once('.').ok_or(VerifyError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| VerifyError::Malformed)?;
    let legacy: LegacyClaims =
        serde_json::from_slice(&payload).map_err(|_| VerifyError::InvalidClaim("claims"))?;
    if legacy.token_type != kind {
        return Err(VerifyError::WrongType);
    }
    if legacy.iss.as_ref().is_some_and(|i| *i != validation.issuer) {
        return Err(VerifyError::WrongIssuer);
    }
    if legacy
        .aud
        .as_ref()
        .is_some_and(|a| !a.contains(&validation.audience))
    {
        return Err(VerifyError::WrongAudience);
    }
    let user_id = match &legacy.user_id {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or(VerifyError::InvalidClaim("user_id"))?;
    check_times(legacy.exp, None, legacy.iat, now, validation.leeway)?;
    Ok((legacy, user_id))
}

/// Verifies a refresh token's MAC and claims. Whether it is still live is the server's
/// decision, not this function's.
///
/// # Errors
/// A [`VerifyError`] naming the first check that failed.
pub fn verify_refresh(
    token: &str,
    key: &MacKey,
    validation: &Validation,
    now: i64,
) -> Result<RefreshClaims, VerifyError> {
    let header = header_of(token, validation)?;
    if header.alg != jsonwebtoken::Algorithm::HS256 {
        return Err(VerifyError::AlgorithmNotAllowed);
    }
    if header.kid.as_deref() != Some(key.kid()) {
        return Err(VerifyError::UnknownKey);
    }
    if header.typ.as_deref() != Some(JWT_TYP) {
        return Err(VerifyError::WrongType);
    }
    let claims: RefreshClaims = decode_checked(
        token,
        jsonwebtoken::Algorithm::HS256,
        key.decoding_key(),
        validation,
        false,
    )?;
    if claims.token_type != TokenType::Refresh {
        return Err(VerifyError::WrongType);
    }
    check_times(claims.exp, None, claims.iat, now, validation.leeway)?;
    Ok(claims)
}

pub(crate) fn header_of(token: &str, validation: &Validation) -> Result<Header, VerifyError> {
    if token.len() > validation.max_len {
        return Err(VerifyError::TooLarge);
    }
    let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
    // jsonwebtoken's Header drops what it does not know; `crit` is looked for in the JSON.
    let raw = token.split('.').next().unwrap_or_default();
    let json = URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| VerifyError::Malformed)?;
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&json).map_err(|_| VerifyError::Malformed)?;
    if fields.contains_key("crit") {
        return Err(VerifyError::CriticalExtension);
    }
    Ok(header)
}

/// The longest lifetime any token may claim when the verifier knows none shorter: ten
/// years (the longest a client's tokens may be configured to live). An `exp` beyond it, or
/// one that is a time in milliseconds, names a token no authority issued.
pub const MAX_PLAUSIBLE_LIFETIME: i64 = 10 * 366 * 24 * 3600;

/// Whether `exp - iat` fits `max_lifetime` (plus the leeway) and `exp` is a time in
/// seconds.
fn plausible_lifetime(
    iat: i64,
    exp: i64,
    max_lifetime: i64,
    leeway: i64,
) -> Result<(), VerifyError> {
    let lifetime = exp.saturating_sub(iat);
    if lifetime > max_lifetime.saturating_add(leeway) || exp > 100_000_000_000 {
        return Err(VerifyError::ImplausibleLifetime);
    }
    Ok(())
}

fn decode_checked<T: DeserializeOwned>(
    token: &str,
    alg: jsonwebtoken::Algorithm,
    key: &DecodingKey,
    validation: &Validation,
    check_audience: bool,
) -> Result<T, VerifyError> {
    let mut v = jsonwebtoken::Validation::new(alg);
    // Time is checked by `check_times` against the injected clock.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.leeway = 0;
    v.set_issuer(&[&validation.issuer]);
    if check_audience {
        v.set_audience(&[&validation.audience]);
        v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    } else {
        v.validate_aud = false;
        v.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    }
    decode::<T>(token, key, &v)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => VerifyError::InvalidSignature,
            ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
            ErrorKind::InvalidAudience => VerifyError::WrongAudience,
            ErrorKind::ExpiredSignature => VerifyError::Expired,
            ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                VerifyError::AlgorithmNotAllowed
            }
            ErrorKind::MissingRequiredClaim(_)
            | ErrorKind::InvalidClaimFormat(_)
            | ErrorKind::Json(_) => VerifyError::InvalidClaim("claims"),
            _ => VerifyError::Malformed,
        })
}

fn check_times(
    exp: i64,
    nbf: Option<i64>,
    iat: i64,
    now: i64,
    leeway: i64,
) -> Result<(), VerifyError> {
    if now > exp.saturating_add(leeway) {
        return Err(VerifyError::Expired);
    }
    if nbf.unwrap_or(i64::MIN) > now.saturating_add(leeway) || iat > now.saturating_add(leeway) {
        return Err(VerifyError::NotYetValid);
    }
    Ok(())
}
