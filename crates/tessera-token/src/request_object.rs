//! Request objects (RFC 9101, JWT-Secured Authorization Requests; OpenID Connect Core
//! §6.1): an authorization request's parameters as the claims of a JWT the client signed
//! with a key it registered.
//!
//! The checks, in order: size → header (`crit` refused, `typ` absent, `JWT` or
//! `oauth-authz-req+jwt`) → for a signed object, the client's key by `kid` (or its only key
//! of the header's algorithm), the key's own algorithm and the registered one, the
//! signature, `aud` naming this authorization server and an `exp` at most an hour ahead →
//! for every object, `client_id` the outer request's, `iss` (when present) the client,
//! `nbf`/`iat` not in the future, no `request` or `request_uri` inside.

use crate::algorithm::Algorithm;
use crate::error::VerifyError;
use crate::jwks::{KeySet, PublicKey};
use crate::validate::{Validation, header_of, verified_claims};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The `typ` RFC 9101 §10.8 registers for request objects.
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// The longest request object read (bytes): more than any authorization request needs.
pub const MAX_REQUEST_OBJECT_LEN: usize = 16 * 1024;

/// The furthest ahead a signed request object's `exp` may be (seconds): a signed request
/// that never expires could be replayed for ever.
pub const MAX_REQUEST_OBJECT_LIFETIME: i64 = 3600;

/// What a request object must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestObjectRules {
    /// This authorization server's issuer identifier: a signed object's `aud` must name it.
    pub issuer: String,
    /// The client of the outer request (its `client_id` parameter, or the client that
    /// pushed the request).
    pub client_id: String,
    /// The client's registered `request_object_signing_alg`, if one: nothing else is taken.
    pub required_alg: Option<Algorithm>,
    /// Whether an unsigned object (`alg: none`) is taken: only for a client that
    /// registered `none`, or for a request pushed by an authenticated client.
    pub allow_unsigned: bool,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: i64,
}

/// A request object that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestObject {
    /// Its claims: the authorization request's parameters (and `iss`, `aud`, `exp`…).
    pub claims: Map<String, Value>,
    /// Whether it was signed (by one of the client's keys).
    pub signed: bool,
}

/// Whether `token` claims to be unsigned (`alg: none`): such an object needs no keys.
pub fn is_unsigned(token: &str) -> bool {
    unsigned_header(token).is_some()
}

/// Verifies a request object of the client `rules.client_id` with the client's `keys`
/// (any set, even empty, for an unsigned one).
///
/// # Errors
/// A [`VerifyError`] naming the first check that failed; [`VerifyError::UnknownKey`] when
/// no key of `keys` matches the header (the caller may fetch the client's keys again).
pub fn verify_request_object(
    token: &str,
    keys: &KeySet,
    rules: &RequestObjectRules,
    now: i64,
) -> Result<RequestObject, VerifyError> {
    if token.len() > MAX_REQUEST_OBJECT_LEN {
        return Err(VerifyError::TooLarge);
    }
    let (claims, signed) = match unsigned_header(token) {
        Some(typ) => {
            if !rules.allow_unsigned {
                return Err(VerifyError::AlgorithmNotAllowed);
            }
            check_typ(typ.as_deref())?;
            (unsigned_claims(token)?, false)
        }
        None => (signed_claims(token, keys, rules, now)?, true),
    };
    check_claims(&claims, rules, now)?;
    Ok(RequestObject { claims, signed })
}

/// The header's `typ` if the header is `alg: none` (and nothing else but `typ`).
fn unsigned_header(token: &str) -> Option<Option<String>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoneHeader {
        alg: String,
        #[serde(default)]
        typ: Option<String>,
    }
    let raw = token.split('.').next()?;
    let json = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let header: NoneHeader = serde_json::from_slice(&json).ok()?;
    (header.alg == "none").then_some(header.typ)
}

/// An unsigned object's claims: exactly `header.payload.` (an empty signature).
fn unsigned_claims(token: &str) -> Result<Map<String, Value>, VerifyError> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(""), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&payload).map_err(|_| VerifyError::InvalidClaim("claims"))
}

fn check_typ(typ: Option<&str>) -> Result<(), VerifyError> {
    match typ.map(str::to_ascii_lowercase).as_deref() {
        None | Some("jwt" | REQUEST_OBJECT_TYP | "application/oauth-authz-req+jwt") => Ok(()),
        Some(_) => Err(VerifyError::WrongType),
    }
}

/// A signed object's claims, its signature checked with the client's key, `aud` and `exp`.
fn signed_claims(
    token: &str,
    keys: &KeySet,
    rules: &RequestObjectRules,
    now: i64,
) -> Result<Map<String, Value>, VerifyError> {
    let validation = Validation {
        max_len: MAX_REQUEST_OBJECT_LEN,
        ..Validation::new(rules.issuer.clone(), rules.issuer.clone())
    };
    let header = header_of(token, &validation)?;
    check_typ(header.typ.as_deref())?;
    let key = client_key(&header, keys)?;
    if rules.required_alg.is_some_and(|alg| alg != key.alg()) {
        return Err(VerifyError::AlgorithmNotAllowed);
    }
    let claims: Map<String, Value> = verified_claims(token, key)?;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == rules.issuer,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&rules.issuer)),
        _ => false,
    };
    if !aud_ok {
        return Err(VerifyError::WrongAudience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(VerifyError::InvalidClaim("exp"))?;
    if now > exp.saturating_add(rules.leeway) {
        return Err(VerifyError::Expired);
    }
    if exp > now.saturating_add(MAX_REQUEST_OBJECT_LIFETIME + rules.leeway) {
        return Err(VerifyError::ImplausibleLifetime);
    }
    Ok(claims)
}

/// The client key the header names by `kid`, or without one the client's only key of the
/// header's algorithm; the header's `alg` must be the key's own.
fn client_key<'k>(
    header: &jsonwebtoken::Header,
    keys: &'k KeySet,
) -> Result<&'k PublicKey, VerifyError> {
    let key = match header.kid.as_deref() {
        Some(kid) => keys.get(kid).ok_or(VerifyError::UnknownKey)?,
        None => {
            let mut of_alg = keys.iter().filter(|k| k.alg().to_jwt() == header.alg);
            match (of_alg.next(), of_alg.next()) {
                (Some(key), None) => key,
                _ => return Err(VerifyError::UnknownKey),
            }
        }
    };
    if header.alg != key.alg().to_jwt() {
        return Err(VerifyError::AlgorithmNotAllowed);
    }
    Ok(key)
}

/// The checks every request object passes, signed or not.
fn check_claims(
    claims: &Map<String, Value>,
    rules: &RequestObjectRules,
    now: i64,
) -> Result<(), VerifyError> {
    if claims.get("client_id").and_then(Value::as_str) != Some(rules.client_id.as_str()) {
        return Err(VerifyError::InvalidClaim("client_id"));
    }
    if claims
        .get("iss")
        .is_some_and(|iss| iss.as_str() != Some(rules.client_id.as_str()))
    {
        return Err(VerifyError::WrongIssuer);
    }
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(VerifyError::InvalidClaim("request"));
    }
    for name in ["nbf", "iat"] {
        match claims.get(name) {
            None => {}
            Some(v) => {
                let at = v.as_i64().ok_or(VerifyError::InvalidClaim("nbf/iat"))?;
                if at > now.saturating_add(rules.leeway) {
                    return Err(VerifyError::NotYetValid);
                }
            }
        }
    }
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_i64().ok_or(VerifyError::InvalidClaim("exp"))?;
        if now > exp.saturating_add(rules.leeway) {
            return Err(VerifyError::Expired);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SigningKey;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "https://sso.example";

    fn rules() -> RequestObjectRules {
        RequestObjectRules {
            issuer: ISSUER.into(),
            client_id: "app".into(),
            required_alg: None,
            allow_unsigned: false,
            leeway: 30,
        }
    }

    fn good_claims() -> Value {
        json!({
            "iss": "app", "aud": ISSUER, "client_id": "app", "exp": NOW + 300, "iat": NOW,
            "response_type": "code", "scope": "openid", "state": "s1", "nonce": "n1",
        })
    }

    /// A compact JWS over `claims` by `key` with this header (jsonwebtoken signs it).
    fn sign(key: &SigningKey, header: Value, claims: &Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let message = format!("{h}.{p}");
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &jsonwebtoken::EncodingKey::from_rsa_pem(key.expose_pkcs8_pem().as_bytes()).unwrap(),
            jsonwebtoken::Algorithm::RS256,
        )
        .unwrap();
        format!("{message}.{sig}")
    }

    fn unsigned(claims: &Value) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn keyed() -> (SigningKey, KeySet) {
        let key = SigningKey::generate(Algorithm::RS256).unwrap();
        let mut jwk = serde_json::to_value(key.public_key().jwk()).unwrap();
        // As clients publish them: no alg, their own kid.
        jwk.as_object_mut().unwrap().remove("alg");
        jwk["kid"] = json!("client-key-1");
        let set = KeySet::from_client_jwks(json!({ "keys": [jwk] }).to_string().as_bytes(), None)
            .unwrap();
        (key, set)
    }

    #[test]
    fn a_signed_object_of_the_client_is_read() {
        let (key, keys) = keyed();
        for header in [
            json!({"alg": "RS256", "kid": "client-key-1", "typ": "oauth-authz-req+jwt"}),
            json!({"alg": "RS256"}),
        ] {
            let token = sign(&key, header, &good_claims());
            let read = verify_request_object(&token, &keys, &rules(), NOW).unwrap();
            assert!(read.signed);
            assert_eq!(read.claims["nonce"], "n1");
        }
    }

    #[test]
    fn forged_replayed_and_misdirected_objects_are_refused() {
        let (key, keys) = keyed();
        let (other, _) = keyed();
        let header = json!({"alg": "RS256", "kid": "client-key-1"});
        let with = |f: &dyn Fn(&mut Value)| {
            let mut c = good_claims();
            f(&mut c);
            sign(&key, header.clone(), &c)
        };
        let cases: Vec<(String, VerifyError)> = vec![
            (
                sign(&other, header.clone(), &good_claims()),
                VerifyError::InvalidSignature,
            ),
            (
                with(&|c| c["aud"] = json!("https://other-as.example")),
                VerifyError::WrongAudience,
            ),
            (
                with(&|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }),
                VerifyError::WrongAudience,
            ),
            (
                with(&|c| c["client_id"] = json!("other")),
                VerifyError::InvalidClaim("client_id"),
            ),
            (
                with(&|c| c["iss"] = json!("other")),
                VerifyError::WrongIssuer,
            ),
            (with(&|c| c["exp"] = json!(NOW - 60)), VerifyError::Expired),
            (
                with(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
                VerifyError::InvalidClaim("exp"),
            ),
            (
                with(&|c| c["exp"] = json!(NOW + 7200)),
                VerifyError::ImplausibleLifetime,
            ),
            (
                with(&|c| c["nbf"] = json!(NOW + 600)),
                VerifyError::NotYetValid,
            ),
            (
                with(&|c| c["request_uri"] = json!("https://x.example/r")),
                VerifyError::InvalidClaim("request"),
            ),
            (
                sign(
                    &key,
                    json!({"alg": "RS256", "kid": "client-key-1", "typ": "at+jwt"}),
                    &good_claims(),
                ),
                VerifyError::WrongType,
            ),
            (
                sign(
                    &key,
                    json!({"alg": "RS256", "kid": "client-key-1", "crit": ["x"]}),
                    &good_claims(),
                ),
                VerifyError::CriticalExtension,
            ),
            (
                sign(&key, json!({"alg": "RS256", "kid": "nope"}), &good_claims()),
                VerifyError::UnknownKey,
            ),
            (
                sign(
                    &key,
                    json!({"alg": "PS256", "kid": "client-key-1"}),
                    &good_claims(),
                ),
                VerifyError::AlgorithmNotAllowed,
            ),
            (unsigned(&good_claims()), VerifyError::AlgorithmNotAllowed),
        ];
        for (token, expected) in cases {
            assert_eq!(
                verify_request_object(&token, &keys, &rules(), NOW),
                Err(expected)
            );
        }
        let es256_only = RequestObjectRules {
            required_alg: Some(Algorithm::ES256),
            ..rules()
        };
        assert_eq!(
            verify_request_object(&with(&|_| {}), &keys, &es256_only, NOW),
            Err(VerifyError::AlgorithmNotAllowed)
        );
        let huge = "a".repeat(MAX_REQUEST_OBJECT_LEN + 1);
        assert_eq!(
            verify_request_object(&huge, &keys, &rules(), NOW),
            Err(VerifyError::TooLarge)
        );
    }

    #[test]
    fn unsigned_objects_only_where_allowed_and_still_checked() {
        let allowed = RequestObjectRules {
            allow_unsigned: true,
            ..rules()
        };
        let read = verify_request_object(&unsigned(&good_claims()), &KeySet::new(), &allowed, NOW)
            .unwrap();
        assert!(!read.signed);
        assert!(is_unsigned(&unsigned(&good_claims())));
        let mut wrong = good_claims();
        wrong["client_id"] = json!("other");
        assert_eq!(
            verify_request_object(&unsigned(&wrong), &KeySet::new(), &allowed, NOW),
            Err(VerifyError::InvalidClaim("client_id"))
        );
        // A signature part on an "unsigned" object is not ignored.
        let tailed = format!("{}AAAA", unsigned(&good_claims()));
        assert_eq!(
            verify_request_object(&tailed, &KeySet::new(), &allowed, NOW),
            Err(VerifyError::Malformed)
        );
    }
}
