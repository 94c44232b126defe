//! Compact JWS serialisation of the tokens Tessera issues.
//!
//! Every token is shaped so that naive legacy decoders accept it: the header's length is a
//! multiple of three (key ids are sized for it) and the claims JSON is padded with
//! insignificant whitespace to a multiple of three, so standard-alphabet base64 without
//! padding decodes both. Claims stay ASCII without `>`, `?` or `~`, so their base64url
//! form never contains `-` or `_`.

use crate::algorithm::Algorithm;
use crate::claims::{AccessClaims, RefreshClaims};
use crate::error::SignError;
use crate::key::SigningKey;
use crate::mac::MacKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Header, encode};
use serde::Serialize;
use serde_json::value::RawValue;

/// The `typ` header of access tokens (RFC 9068).
pub const ACCESS_TYP: &str = "at+jwt";
/// The `typ` header of refresh and ID tokens.
pub const JWT_TYP: &str = "JWT";

/// Signs access token claims with `key`; header `{"typ":"at+jwt","alg","kid"}`.
///
/// # Errors
/// [`SignError`] if the key or claims are refused.
pub fn sign_access(key: &SigningKey, claims: &AccessClaims) -> Result<String, SignError> {
    sign_with(key, ACCESS_TYP, claims)
}

/// Signs arbitrary claims with `key` and the given `typ` (ID tokens use `"JWT"`).
///
/// # Errors
/// [`SignError`] if the key or claims are refused.
pub fn sign_with<T: Serialize>(
    key: &SigningKey,
    typ: &str,
    claims: &T,
) -> Result<String, SignError> {
    // Compact serialisation (RFC 7515 §7.1) by hand, so the parsed key signs directly;
    // the signature itself is aws-lc-rs's.
    let input = signing_input(key.alg(), key.kid(), typ, claims)?;
    let signature = key.sign_message(input.as_bytes())?;
    Ok(assemble(&input, &signature))
}

/// The JWS signing input `header.claims` for a key held elsewhere (a Vault transit key):
/// sign its bytes, then [`assemble`].
///
/// # Errors
/// [`SignError`] if the claims cannot be serialised.
pub fn signing_input<T: Serialize>(
    alg: Algorithm,
    kid: &str,
    typ: &str,
    claims: &T,
) -> Result<String, SignError> {
    let mut header = Header::new(alg.to_jwt());
    header.typ = Some(typ.to_owned());
    header.kid = Some(kid.to_owned());
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(padded(claims)?.get())
    ))
}

/// The compact JWS from its signing input and the raw signature (JWS form: `r || s` for
/// ECDSA).
pub fn assemble(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// MACs refresh token claims with the internal key; header `{"typ":"JWT","alg":"HS256","kid"}`.
///
/// # Errors
/// [`SignError`] if the claims cannot be serialised.
pub fn sign_refresh(key: &MacKey, claims: &RefreshClaims) -> Result<String, SignError> {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some(JWT_TYP.to_owned());
    header.kid = Some(key.kid().to_owned());
    Ok(encode(&header, &padded(claims)?, key.encoding_key())?)
}

/// The claims as JSON whose length is a multiple of three (spaces before the closing brace).
fn padded<T: Serialize>(claims: &T) -> Result<Box<RawValue>, SignError> {
    let mut json = serde_json::to_string(claims)?;
    let pad = (3 - json.len() % 3) % 3;
    if pad > 0 && json.ends_with('}') {
        json.pop();
        json.push_str(&" ".repeat(pad));
        json.push('}');
    }
    Ok(RawValue::from_string(json)?)
}
