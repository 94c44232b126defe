use crate::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_token::sign::{sign_access, sign_refresh, sign_with};
use tessera_token::validate::{verify_access, verify_refresh};
use tessera_token::{Algorithm, VerifyError};

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

#[test]
fn every_algorithm_signs_and_verifies() {
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        let claims = access_claims();
        let token = sign_access(&key, &claims).unwrap();
        let got = verify_access(&token, &keyset(&key), &validation(), NOW).unwrap();
        assert_eq!(got, claims, "{alg}");
    }
}

#[test]
fn alg_none_is_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let header = format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#, key.kid());
    let claims = serde_json::to_string(&access_claims()).unwrap();
    for sig in ["", "AAAA"] {
        let token = format!("{}.{}.{sig}", b64(&header), b64(&claims));
        assert!(verify_access(&token, &keyset(&key), &validation(), NOW).is_err());
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let public_json = serde_json::to_vec(key.public_key().jwk()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key.kid().into());
    let forged = jsonwebtoken::encode(
        &header,
        &access_claims(),
        &jsonwebtoken::EncodingKey::from_secret(&public_json),
    )
    .unwrap();
    assert_eq!(
        verify_access(&forged, &keyset(&key), &validation(), NOW),
        Err(VerifyError::AlgorithmNotAllowed)
    );
}

#[test]
fn an_unknown_kid_is_refused() {
    let trusted = SigningKey::generate(Algorithm::ES256).unwrap();
    let stranger = SigningKey::generate(Algorithm::ES256).unwrap();
    let token = sign_access(&stranger, &access_claims()).unwrap();
    assert_eq!(
        verify_access(&token, &keyset(&trusted), &validation(), NOW),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn a_tampered_payload_is_refused() {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let token = sign_access(&key, &access_claims()).unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = access_claims();
    claims.user_id = Some(1);
    claims.sub = "1".into();
    parts[1] = b64(&serde_json::to_string(&claims).unwrap());
    let tampered = parts.join(".");
    assert_eq!(
        verify_access(&tampered, &keyset(&key), &validation(), NOW),
        Err(VerifyError::InvalidSignature)
    );
}

#[test]
fn time_is_checked_with_leeway() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let token = sign_access(&key, &access_claims()).unwrap();
    let keys = keyset(&key);
    let v = validation();
    assert!(verify_access(&token, &keys, &v, NOW + 300 + v.leeway).is_ok());
    assert_eq!(
        verify_access(&token, &keys, &v, NOW + 301 + v.leeway),
        Err(VerifyError::Expired)
    );
    assert_eq!(
        verify_access(&token, &keys, &v, NOW - 31),
        Err(VerifyError::NotYetValid)
    );
}

#[test]
fn wrong_issuer_and_audience_are_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = keyset(&key);
    let mut claims = access_claims();
    claims.iss = "http://evil.example".into();
    let token = sign_access(&key, &claims).unwrap();
    assert_eq!(
        verify_access(&token, &keys, &validation(), NOW),
        Err(VerifyError::WrongIssuer)
    );
    let mut claims = access_claims();
    claims.aud = Audience::Many(vec!["other".into()]);
    let token = sign_access(&key, &claims).unwrap();
    assert_eq!(
        verify_access(&token, &keys, &validation(), NOW),
        Err(VerifyError::WrongAudience)
    );
}

#[test]
fn token_kinds_cannot_be_swapped() {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let mac = mac();
    let refresh = sign_refresh(&mac, &refresh_claims()).unwrap();
    assert!(verify_access(&refresh, &keyset(&key), &validation(), NOW).is_err());
    let access = sign_access(&key, &access_claims()).unwrap();
    assert_eq!(
        verify_refresh(&access, &mac, &validation(), NOW),
        Err(VerifyError::AlgorithmNotAllowed)
    );
    // An access-shaped token with the wrong typ header.
    let wrong_typ = sign_with(&key, "JWT", &access_claims()).unwrap();
    assert_eq!(
        verify_access(&wrong_typ, &keyset(&key), &validation(), NOW),
        Err(VerifyError::WrongType)
    );
    // Refresh claims signed with the access key (right typ): the token_type claim decides.
    let mut claims = access_claims();
    claims.token_type = TokenType::Refresh;
    let token = sign_access(&key, &claims).unwrap();
    assert_eq!(
        verify_access(&token, &keyset(&key), &validation(), NOW),
        Err(VerifyError::WrongType)
    );
}

#[test]
fn refresh_tokens_need_the_internal_key() {
    let token = sign_refresh(&mac(), &refresh_claims()).unwrap();
    assert_eq!(
        verify_refresh(&token, &mac(), &validation(), NOW),
        Err(VerifyError::UnknownKey)
    );
    let key = mac();
    let token = sign_refresh(&key, &refresh_claims()).unwrap();
    assert!(verify_refresh(&token, &key, &validation(), NOW).is_ok());
    assert_eq!(
        verify_refresh(&token, &key, &validation(), NOW + 90_000),
        Err(VerifyError::Expired)
    );
}

#[test]
fn garbage_and_huge_tokens_are_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = keyset(&key);
    for junk in [
        "",
        ".",
        "..",
        "a.b.c",
        "!!!.???.***",
        "eyJhbGciOiJSUzI1NiJ9",
        "a.b.c.d",
    ] {
        assert!(
            verify_access(junk, &keys, &validation(), NOW).is_err(),
            "{junk}"
        );
    }
    let huge = "a".repeat(100_000);
    assert_eq!(
        verify_access(&huge, &keys, &validation(), NOW),
        Err(VerifyError::TooLarge)
    );
}

#[test]
fn a_string_exp_is_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut claims = serde_json::to_value(access_claims()).unwrap();
    claims["exp"] = serde_json::json!("99999999999");
    let token = sign_with(&key, "at+jwt", &claims).unwrap();
    assert!(verify_access(&token, &keyset(&key), &validation(), NOW).is_err());
}

/// An `id_token_hint` is taken only as an ID token this issuer signed: expired is fine (a
/// hint may come after expiry); an access token, another issuer's token, another key's, or
/// `alg: none` is not.
#[test]
fn an_id_token_hint_must_be_an_id_token_this_issuer_signed() {
    use tessera_token::oidc::IdClaims;
    use tessera_token::validate::verify_id_token_hint;
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = keyset(&key);
    let id = |iss: &str, exp: i64| IdClaims {
        iss: iss.into(),
        sub: "42".into(),
        aud: "web".into(),
        exp,
        iat: exp - 300,
        auth_time: exp - 300,
        ..IdClaims::default()
    };
    let expired = sign_with(&key, "JWT", &id(ISS, NOW - 3600)).unwrap();
    assert_eq!(
        verify_id_token_hint(&expired, &keys, &validation())
            .unwrap()
            .sub,
        "42"
    );
    let foreign = sign_with(&key, "JWT", &id("https://elsewhere.example", NOW)).unwrap();
    assert_eq!(
        verify_id_token_hint(&foreign, &keys, &validation()),
        Err(VerifyError::WrongIssuer)
    );
    let access = sign_access(&key, &access_claims()).unwrap();
    assert_eq!(
        verify_id_token_hint(&access, &keys, &validation()),
        Err(VerifyError::WrongType)
    );
    let stranger = SigningKey::generate(Algorithm::ES256).unwrap();
    let other = sign_with(&stranger, "JWT", &id(ISS, NOW)).unwrap();
    assert_eq!(
        verify_id_token_hint(&other, &keys, &validation()),
        Err(VerifyError::UnknownKey)
    );
    let header = format!(r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#, key.kid());
    let unsigned = format!(
        "{}.{}.",
        b64(&header),
        b64(&serde_json::to_string(&id(ISS, NOW)).unwrap())
    );
    assert!(verify_id_token_hint(&unsigned, &keys, &validation()).is_err());
}

/// RFC 7515 §4.1.11: a `crit` header is refused whatever it lists (this verifier knows no
/// extension), even on a token the trusted key really signed.
#[test]
fn a_critical_header_is_refused() {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let claims = serde_json::to_string(&access_claims()).unwrap();
    for crit in ["[]", r#"["exp"]"#, r#"["b64"]"#] {
        let header = format!(
            r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}","crit":{crit}}}"#,
            key.kid()
        );
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let pair = RsaKeyPair::from_pkcs8(key.expose_pkcs8_der()).unwrap();
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
        assert_eq!(
            verify_access(&token, &keyset(&key), &validation(), NOW),
            Err(VerifyError::CriticalExtension),
            "{crit}"
        );
    }
}

/// A token claiming a lifetime no authority issues (past `max_lifetime`, ten years by
/// default), or an `exp` in milliseconds, is refused even with a good signature.
#[test]
fn an_implausible_lifetime_is_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = keyset(&key);
    let mut ten_years = access_claims();
    ten_years.exp = NOW + 11 * 366 * 24 * 3600;
    let mut millis = access_claims();
    millis.exp = (NOW + 300) * 1000;
    for claims in [ten_years, millis] {
        let token = sign_access(&key, &claims).unwrap();
        assert_eq!(
            verify_access(&token, &keys, &validation(), NOW),
            Err(VerifyError::ImplausibleLifetime)
        );
    }
    let mut hour = access_claims();
    hour.exp = NOW + 3600;
    let token = sign_access(&key, &hour).unwrap();
    assert!(verify_access(&token, &keys, &validation(), NOW).is_ok());
    let mut strict = validation();
    strict.max_lifetime = 300;
    assert_eq!(
        verify_access(&token, &keys, &strict, NOW),
        Err(VerifyError::ImplausibleLifetime)
    );
}
