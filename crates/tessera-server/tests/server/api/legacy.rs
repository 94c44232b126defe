//! Moving from a Django deployment: access tokens that djangorestframework-simplejwt
//! signed with the imported key (no `kid`, no `iss`/`aud`) are accepted while
//! `[tokens] legacy_until` has not passed, and only those.

use crate::api::verify_status;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::time::Duration;
use tessera_server::keys::{MasterKey, stage_key};
use tessera_test_support::TestApp;
use tessera_token::{Algorithm, Clock as _, SigningKey};

/// A token shaped exactly as simplejwt 5 writes it (RS256, `typ: JWT`, no `kid`).
fn simplejwt_token(key: &SigningKey, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let input = format!("{header}.{payload}");
    let pair = RsaKeyPair::from_pkcs8(key.expose_pkcs8_der()).unwrap();
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn claims(now: i64, extra: Value) -> Value {
    let mut c = json!({"token_type": "access", "exp": now + 3600, "iat": now,
                       "jti": "0f2c9a0d8c3e4b6fa1d2e3f405162738", "user_id": 1});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[tokio::test]
async fn simplejwt_tokens_of_the_imported_key_verify_until_the_window_closes() {
    let django = SigningKey::generate(Algorithm::RS256).unwrap();
    let until = real_now() + time::Duration::days(1);
    let kid = django.kid().to_owned();
    let app = TestApp::builder()
        .settings(move |s| {
            s.tokens.legacy_kid = Some(kid);
            s.tokens.legacy_until = Some(until);
        })
        .spawn()
        .await;
    app.create_imported_user("alice", 1).await;
    // What `tessera keys import jwt_private.pem` does: published, not signing.
    let master = MasterKey::obtain(None, app.data_dir(), true).unwrap();
    let now = app.clock.unix();
    stage_key(app.state.store.as_ref(), &master, &django, None, now)
        .await
        .unwrap();
    app.reload_keys().await;

    let legacy = simplejwt_token(&django, &claims(now, json!({})));
    assert_eq!(verify_status(&app, &legacy).await, 200);
    let me = app.get_bearer("/auth/users/me/", &legacy).await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["email"],
        "alice@example.com"
    );

    // Only genuine access tokens of that key.
    let other = SigningKey::generate(Algorithm::RS256).unwrap();
    for (what, token) in [
        (
            "another key",
            simplejwt_token(&other, &claims(now, json!({}))),
        ),
        (
            "a refresh token",
            simplejwt_token(&django, &claims(now, json!({"token_type": "refresh"}))),
        ),
        (
            "a wrong issuer",
            simplejwt_token(&django, &claims(now, json!({"iss": "https://elsewhere"}))),
        ),
        (
            "a wrong audience",
            simplejwt_token(&django, &claims(now, json!({"aud": "billing"}))),
        ),
        (
            "expired",
            simplejwt_token(&django, &claims(now - 7200, json!({}))),
        ),
        (
            "no user",
            simplejwt_token(&django, &claims(now, json!({"user_id": null}))),
        ),
    ] {
        assert_eq!(verify_status(&app, &token).await, 401, "{what}");
    }

    // The window closes.
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    let later = simplejwt_token(&django, &claims(app.clock.unix(), json!({})));
    assert_eq!(verify_status(&app, &later).await, 401, "after legacy_until");
}

#[tokio::test]
async fn without_the_window_simplejwt_tokens_are_refused() {
    let app = TestApp::spawn().await;
    app.create_imported_user("alice", 1).await;
    let django = SigningKey::generate(Algorithm::RS256).unwrap();
    let master = MasterKey::obtain(None, app.data_dir(), true).unwrap();
    let now = app.clock.unix();
    stage_key(app.state.store.as_ref(), &master, &django, None, now)
        .await
        .unwrap();
    let legacy = simplejwt_token(&django, &claims(now, json!({})));
    assert_eq!(verify_status(&app, &legacy).await, 401);
}

const SECRET: &str = "django-insecure-old-secret-key";

/// A server accepting simplejwt's HS256 refresh tokens (signed with [`SECRET`]) for a day.
async fn app_with_legacy_secret() -> TestApp {
    let until = real_now() + time::Duration::days(1);
    TestApp::builder()
        .settings(move |s| {
            s.tokens.legacy_hs256_secret = Some(tessera_proto::Secret::new(SECRET));
            s.tokens.legacy_until = Some(until);
        })
        .spawn()
        .await
}

/// A refresh token shaped as simplejwt 5 writes it with its default HS256 signing.
fn simplejwt_refresh(secret: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let input = format!("{header}.{payload}");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

#[tokio::test]
async fn simplejwt_refresh_tokens_are_exchanged_once_during_the_window() {
    let app = app_with_legacy_secret().await;
    let alice = app.create_imported_user("alice", 1).await;
    let now = app.clock.unix();
    let refresh_claims = |jti: &str, user: i64| {
        json!({"token_type": "refresh", "exp": now + 86_400, "iat": now, "jti": jti,
               "user_id": user})
    };
    let old = simplejwt_refresh(SECRET, &refresh_claims("a1", alice.id));
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": old}))
        .await;
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    let me: Value = app
        .get_bearer("/auth/users/me/", pair["access"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], alice.id);
    // The new refresh token is Tessera's own and rotates as usual.
    let next = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair["refresh"]}))
        .await;
    assert_eq!(next.status(), 200);

    // Once only; and nothing signed with another secret, of another type, or for a user
    // who is not there.
    for (token, why) in [
        (old.clone(), "used already"),
        (
            simplejwt_refresh("another secret", &refresh_claims("a2", alice.id)),
            "wrong secret",
        ),
        (
            simplejwt_refresh(SECRET, &claims(now, json!({"jti": "a3"}))),
            "an access token",
        ),
        (
            simplejwt_refresh(SECRET, &refresh_claims("a4", 999)),
            "no such user",
        ),
        (
            simplejwt_refresh(
                SECRET,
                &json!({"token_type": "refresh", "exp": now - 3600, "iat": now - 90_000,
                        "jti": "a5", "user_id": alice.id}),
            ),
            "expired",
        ),
    ] {
        let res = app
            .post_json("/auth/token/refresh/", &json!({"refresh": token}))
            .await;
        assert_eq!(res.status(), 401, "{why}");
    }
}

#[tokio::test]
async fn simplejwt_refresh_tokens_are_refused_after_the_window() {
    let until = real_now() - time::Duration::seconds(1);
    let app = TestApp::builder()
        .settings(move |s| {
            s.tokens.legacy_hs256_secret = Some(tessera_proto::Secret::new(SECRET));
            s.tokens.legacy_until = Some(until);
        })
        .spawn()
        .await;
    let alice = app.create_imported_user("alice", 1).await;
    let now = app.clock.unix();
    let old = simplejwt_refresh(
        SECRET,
        &json!({"token_type": "refresh", "exp": now + 86_400, "iat": now, "jti": "b1",
                "user_id": alice.id}),
    );
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": old}))
        .await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_configured_public_key_verifies_simplejwt_tokens_without_the_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("jwt_private.pem");
    let public = dir.path().join("jwt_public.pem");
    for args in [
        vec![
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            private.to_str().unwrap(),
        ],
        vec![
            "pkey",
            "-in",
            private.to_str().unwrap(),
            "-pubout",
            "-out",
            public.to_str().unwrap(),
        ],
    ] {
        let done = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let django = SigningKey::from_pem(
        Algorithm::RS256,
        &std::fs::read_to_string(&private).unwrap(),
    )
    .unwrap();
    let until = real_now() + time::Duration::days(1);
    let app = TestApp::builder()
        .settings(move |s| {
            s.tokens.legacy_public_keys = vec![public];
            s.tokens.legacy_until = Some(until);
        })
        .spawn()
        .await;
    app.create_imported_user("alice", 1).await;
    let now = app.clock.unix();
    let legacy = simplejwt_token(&django, &claims(now, json!({})));
    assert_eq!(verify_status(&app, &legacy).await, 200);
    let jwks: Value = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != django.kid()),
        "the old key is not published as Tessera's"
    );
    let other = SigningKey::generate(Algorithm::RS256).unwrap();
    let forged = simplejwt_token(&other, &claims(now, json!({})));
    assert_eq!(verify_status(&app, &forged).await, 401);
}

#[tokio::test]
async fn a_used_simplejwt_refresh_token_stays_used_through_the_leeway_after_a_prune() {
    let app = app_with_legacy_secret().await;
    let alice = app.create_imported_user("alice", 1).await;
    let now = app.clock.unix();
    let old = simplejwt_refresh(
        SECRET,
        &json!({"token_type": "refresh", "exp": now + 60, "iat": now, "jti": "p1",
                "user_id": alice.id}),
    );
    let first = app
        .post_json("/auth/token/refresh/", &json!({"refresh": old}))
        .await;
    assert_eq!(first.status(), 200);
    // Past its exp, inside the leeway (30 s): it still verifies, so its marker must hold.
    app.clock.advance(std::time::Duration::from_secs(75));
    app.state
        .store
        .prune_expired(app.clock.unix(), 0)
        .await
        .unwrap();
    let replay = app
        .post_json("/auth/token/refresh/", &json!({"refresh": old}))
        .await;
    assert_eq!(
        replay.status(),
        401,
        "a second family from one legacy token"
    );
}

/// A legacy token names whoever had its `user_id` in the old system: an account made here
/// after the token was issued (under an id the import skipped or refused) is someone else,
/// and gets nothing from it.
#[tokio::test]
async fn a_legacy_token_older_than_the_account_of_its_id_is_refused() {
    let app = app_with_legacy_secret().await;
    let alice = app.create_imported_user("alice", 1).await;
    let now = app.clock.unix();
    let before = now - 3600;
    let refresh = simplejwt_refresh(
        SECRET,
        &json!({"token_type": "refresh", "exp": now + 86_400, "iat": before, "jti": "o1",
                "user_id": alice.id}),
    );
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": refresh}))
        .await;
    assert_eq!(res.status(), 401, "not alice's: it predates her account");
    let fresh = simplejwt_refresh(
        SECRET,
        &json!({"token_type": "refresh", "exp": now + 86_400, "iat": now, "jti": "o2",
                "user_id": alice.id}),
    );
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": fresh}))
        .await;
    assert_eq!(res.status(), 200);

    // An account made here (not holding an id the import kept) under the id of a token's
    // user_id is never named by it, however recent the token.
    let made_here = app.create_user("bob", false).await;
    let for_bob = simplejwt_refresh(
        SECRET,
        &json!({"token_type": "refresh", "exp": now + 86_400, "iat": now + 1, "jti": "o3",
                "user_id": made_here.id}),
    );
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": for_bob}))
        .await;
    assert_eq!(res.status(), 401, "bob's id was never the old system's");
}

/// The real time now (the server's clock starts there): a legacy window is set in the
/// settings, before the test's clock exists.
fn real_now() -> time::OffsetDateTime {
    let now = tessera_token::Clock::unix(&tessera_token::SystemClock);
    time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// The old system's tokens carry no second factor: a user who must use one (here an admin
/// required it) gets nothing for one, and logs in instead.
#[tokio::test]
async fn a_simplejwt_refresh_token_gives_nothing_to_a_user_who_needs_a_second_factor() {
    let app = app_with_legacy_secret().await;
    let alice = app.create_imported_user("alice", 1).await;
    let bob = app.create_imported_user("bob", 2).await;
    let users = tessera_server::service::user::Users::of(&app.state);
    let patch = tessera_server::service::user::UserPatch {
        mfa_required: Some(true),
        ..Default::default()
    };
    users
        .update(alice.id, patch, tessera_server::service::audit::Actor::Cli)
        .await
        .unwrap();
    let now = app.clock.unix();
    let token = |jti: &str, user: i64| {
        simplejwt_refresh(
            SECRET,
            &json!({"token_type": "refresh", "exp": now + 86_400, "iat": now, "jti": jti,
                    "user_id": user}),
        )
    };
    let res = app
        .post_json(
            "/auth/token/refresh/",
            &json!({"refresh": token("m1", alice.id)}),
        )
        .await;
    assert_eq!(res.status(), 401);
    // Another user's is exchanged, at aal1.
    let res = app
        .post_json(
            "/auth/token/refresh/",
            &json!({"refresh": token("m2", bob.id)}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    let access = pair["access"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(access.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["acr"], "aal1");
}
