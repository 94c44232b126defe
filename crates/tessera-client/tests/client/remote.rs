//! Remote verification at a live Tessera, by introspection and by `/auth/token/verify/`:
//! active tokens pass, a revoked one fails as soon as the short positive cache lets it,
//! and an unreachable authority is reported as such.

use std::time::Duration;
use tessera_client::VerifyError;
use tessera_client::remote::RemoteVerifier;
use tessera_server::service::client::NewClient;
use tessera_test_support::{TestApp, eventually};

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
    let remote =
        RemoteVerifier::verify_endpoint(&app.address, "tessera", Duration::from_millis(200))
            .unwrap();

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
    let offline = RemoteVerifier::verify_endpoint(&address, "tessera", Duration::ZERO).unwrap();
    assert_eq!(
        offline.verify(&fresh.access).await,
        Err(VerifyError::AuthorityUnavailable)
    );
}

/// A verify URL that answers 200 to anything (a catch-all page, a gateway) is a
/// misconfiguration, never a yes: the claims of a forged token were taken from its
/// unverified payload on any 200.
#[tokio::test]
async fn a_verify_url_answering_200_to_anything_accepts_nothing() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().fallback(|| async { "<html>ok</html>" });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let remote = RemoteVerifier::verify_endpoint(&address, "tessera", Duration::ZERO).unwrap();
    let b64 =
        |v: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v);
    let claims = format!(
        r#"{{"iss":"{address}","sub":"1","aud":"tessera","exp":9999999999,"iat":0,"nbf":0,"jti":"x","token_type":"access","user_id":1}}"#
    );
    let forged = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&claims));
    assert_eq!(
        remote.verify(&forged).await,
        Err(VerifyError::AuthorityUnavailable)
    );
}

/// What the authority vouched for is checked here too (`iss`, `aud`, `exp`), and a cached
/// yes does not outlive the token's `exp`.
#[tokio::test]
async fn the_verify_endpoint_checks_the_claims_and_caches_no_longer_than_exp() {
    let app = TestApp::builder()
        .settings(|s| s.tokens.access_lifetime = Duration::from_secs(2))
        .spawn()
        .await;
    app.create_user("bob", false).await;
    let pair = app.login("bob").await;
    let other_audience =
        RemoteVerifier::verify_endpoint(&app.address, "billing", Duration::ZERO).unwrap();
    assert_eq!(
        other_audience.verify(&pair.access).await,
        Err(VerifyError::Inactive)
    );
    let remote =
        RemoteVerifier::verify_endpoint(&app.address, "tessera", Duration::from_secs(60)).unwrap();
    assert!(remote.verify(&pair.access).await.is_ok());
    // The test server's clock stands still, so it keeps saying yes; the cached yes ends
    // with the token's exp all the same.
    eventually(
        "the cached yes to end at exp",
        Duration::from_secs(10),
        async || remote.verify(&pair.access).await.is_err().then_some(()),
    )
    .await;
    assert_eq!(
        remote.verify(&pair.access).await,
        Err(VerifyError::Inactive)
    );
}
