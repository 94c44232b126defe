//! Forged and broken tokens are refused on every surface.

use crate::api::assert_error;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use tessera_test_support::TestApp;
use tessera_token::claims::new_jti;
use tessera_token::sign::{sign_access, sign_refresh};
use tessera_token::{AccessClaims, Algorithm, Audience, Clock, MacKey, SigningKey, TokenType};

fn claims(app: &TestApp, user_id: i64) -> AccessClaims {
    let now = app.clock.unix();
    AccessClaims {
        iss: app.state.issuer.clone(),
        sub: user_id.to_string(),
        aud: Audience::One("tessera".into()),
        exp: now + 300,
        iat: now,
        nbf: now,
        jti: new_jti().unwrap(),
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
    }
}

fn b64(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// A compact JWS with exactly `header`, signed (RS256, the server's default) by `key`.
fn sign_raw(key: &SigningKey, header: &serde_json::Value, payload: &serde_json::Value) -> String {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let input = format!("{}.{}", b64(header), b64(payload));
    let pair = RsaKeyPair::from_pkcs8(key.expose_pkcs8_der()).unwrap();
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Every forgery of an access token for `user_id`.
fn forgeries(app: &TestApp, user_id: i64, genuine: &str) -> Vec<(&'static str, String)> {
    let ring = app.state.keys.current();
    let key = ring
        .signer()
        .local_key()
        .expect("the local backend signs in process");
    let kid = key.kid();
    let base = claims(app, user_id);
    let payload = serde_json::to_value(&base).unwrap();
    let mut out = vec![(
        "alg none",
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})),
            b64(&payload)
        ),
    )];
    let public = serde_json::to_vec(key.public_key().jwk()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    out.push((
        "HS256 with the public key",
        jsonwebtoken::encode(
            &header,
            &base,
            &jsonwebtoken::EncodingKey::from_secret(&public),
        )
        .unwrap(),
    ));
    let stranger = SigningKey::generate(Algorithm::RS256).unwrap();
    out.push(("unknown kid", sign_access(&stranger, &base).unwrap()));
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let tampered_payload = b64(&json!({"user_id": user_id + 1, "sub": (user_id + 1).to_string()}));
    parts[1] = &tampered_payload;
    out.push(("tampered payload", parts.join(".")));
    let resign = |f: &dyn Fn(&mut AccessClaims)| {
        let mut c = base.clone();
        f(&mut c);
        sign_access(key, &c).unwrap()
    };
    out.push(("expired", resign(&|c| c.exp = c.iat - 3600)));
    out.push(("not yet valid", resign(&|c| c.nbf = c.iat + 3600)));
    out.push((
        "wrong iss",
        resign(&|c| c.iss = "http://evil.example".into()),
    ));
    out.push((
        "wrong aud",
        resign(&|c| c.aud = Audience::One("other".into())),
    ));
    out.push((
        "refresh claim type",
        resign(&|c| c.token_type = TokenType::Refresh),
    ));
    // Signed by the server's own key, but not tokens it could have issued (issue 18).
    out.push((
        "lifetime longer than Tessera issues",
        resign(&|c| c.exp = c.iat + 3600),
    ));
    out.push(("exp in milliseconds", resign(&|c| c.exp = c.iat * 1000)));
    for (what, crit) in [
        ("crit: []", json!([])),
        ("crit naming a registered claim", json!(["exp"])),
        ("crit naming an unknown extension", json!(["tessera-ext"])),
    ] {
        let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": crit});
        out.push((what, sign_raw(key, &header, &payload)));
    }
    out.push(("garbage base64", "!!!.@@@.###".into()));
    out.push((
        "huge",
        format!(
            "{}.{}.{}",
            "a".repeat(20_000),
            "b".repeat(20_000),
            "c".repeat(20_000)
        ),
    ));
    out
}

#[tokio::test]
async fn forged_access_tokens_are_refused_by_verify_and_users() {
    let app = TestApp::spawn().await;
    let user = app.create_user("user1", false).await;
    let genuine = app.login("user1").await.access;
    for (what, token) in forgeries(&app, user.id, &genuine) {
        let res = app
            .post_json("/auth/token/verify/", &json!({"token": token}))
            .await;
        assert_eq!(res.status(), 401, "verify accepted: {what}");
        crate::api::assert_verify_refusal(res).await;
        let res = app.get_bearer("/auth/users/me/", &token).await;
        // A token larger than the 16 KiB header limit never reaches the handler.
        let refused = if token.len() > 16 * 1024 { 431 } else { 401 };
        assert_eq!(res.status(), refused, "users accepted: {what}");
    }
    // The genuine one still works: the refusals above were not for an unrelated reason.
    assert_eq!(crate::api::verify_status(&app, &genuine).await, 200);
}

#[tokio::test]
async fn forged_refresh_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    let mut refreshes: Vec<(&str, String)> = forgeries(&app, user.id, &pair.access);
    refreshes.push(("an access token", pair.access.clone()));
    // Well-formed refresh claims MAC'd with a key that is not the server's.
    let genuine: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(pair.refresh.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let claims: tessera_token::RefreshClaims = serde_json::from_value(genuine).unwrap();
    refreshes.push((
        "foreign MAC key",
        sign_refresh(&MacKey::generate().unwrap(), &claims).unwrap(),
    ));
    for (what, token) in refreshes {
        let res = crate::api::refresh(&app, &token).await;
        assert_eq!(res.status(), 401, "refresh accepted: {what}");
        assert_error(res, 401, "token_not_valid").await;
    }
    assert_eq!(crate::api::refresh(&app, &pair.refresh).await.status(), 200);
}
