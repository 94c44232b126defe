//! Remote verification at a live Tessera, by introspection and by `/auth/token/verify/`:
//! active tokens pass, a revoked one fails as soon as the short positive cache lets it,
//! and an unreachable authority is reported as such.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests"
)]

use std::time::Duration;
use tessera_client::VerifyError;
use tessera_client::remote::RemoteVerifier;
use tessera_server::service::client::NewClient;
use tessera_test_support::TestApp;

#[tokio::test]
async fn introspection_sees_a_revocation_after_the_cache_ttl() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let api_secret = app
        .create_client(NewClient {
            id: "orders-api".into(),
            grants: vec!["client_credentials".into()],
            scopes: vec!["introspect".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let pair = app.login("alice").await;
    let remote = RemoteVerifier::new(
        &app.address,
        "orders-api",
        api_secret.clone(),
        Duration::from_millis(200),
    )
    .unwrap();

    let seen = remote.verify(&pair.access).await.unwrap();
    assert_eq!(seen.sub, "1");
    assert_eq!(seen.username.as_deref(), Some("alice"));
    assert_eq!(remote.verify("garbage").await, Err(VerifyError::Inactive));
    assert_eq!(
        remote.verify(&pair.refresh).await,
        Err(VerifyError::Inactive),
        "refresh tokens are not access tokens"
    );

    // Logout revokes the access token with its family.
    let out = app
        .post_json(
            "/auth/token/blacklist/",
            &serde_json::json!({"refresh": pair.refresh}),
        )
        .await;
    assert_eq!(out.status(), 200);
    assert!(remote.verify(&pair.access).await.is_ok(), "still cached");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        remote.verify(&pair.access).await,
        Err(VerifyError::Inactive),
        "seen once the cache expires"
    );

    let wrong = RemoteVerifier::new(&app.address, "orders-api", "wrong", Duration::ZERO).unwrap();
    assert_eq!(
        wrong.verify(&pair.access).await,
        Err(VerifyError::AuthorityUnavailable)
    );
    let fresh = app.login("alice").await;
    let address = app.address.clone();
    app.stop().await;
    let offline = RemoteVerifier::new(&address, "orders-api", api_secret, Duration::ZERO).unwrap();
    assert_eq!(
        offline.verify(&fresh.access).await,
        Err(VerifyError::AuthorityUnavailable)
    );
}

#[tokio::test]
async fn the_verify_endpoint_sees_a_revocation_and_refuses_forgeries() {
    let app = TestApp::spawn().await;
    app.create_user("bob", false).await;
    let pair = app.login("bob").await;
    let remote = RemoteVerifier::verify_endpoint(&app.address, Duration::from_millis(200)).unwrap();

    let seen = remote.verify(&pair.access).await.unwrap();
    assert_eq!(seen.sub, "1");
    assert_eq!(remote.verify("garbage").await, Err(VerifyError::Inactive));
    let (head, rest) = pair.access.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let forged_claims = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"sub":"2","user_id":2}"#,
    );
    assert_eq!(
        remote
            .verify(&format!("{head}.{forged_claims}.{sig}"))
            .await,
        Err(VerifyError::Inactive),
        "a payload swapped under a valid signature"
    );
    assert_eq!(
        remote.verify(&pair.refresh).await,
        Err(VerifyError::Inactive),
        "the endpoint vouches for refresh tokens, the verifier does not take them"
    );

    let out = app
        .post_json(
            "/auth/token/blacklist/",
            &serde_json::json!({"refresh": pair.refresh}),
        )
        .await;
    assert_eq!(out.status(), 200);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        remote.verify(&pair.access).await,
        Err(VerifyError::Inactive),
        "a revoked access token, once the cache expired"
    );

    let fresh = app.login("bob").await;
    let address = app.address.clone();
    app.stop().await;
    let offline = RemoteVerifier::verify_endpoint(&address, Duration::ZERO).unwrap();
    assert_eq!(
        offline.verify(&fresh.access).await,
        Err(VerifyError::AuthorityUnavailable)
    );
}
