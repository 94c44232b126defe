//! The verifier against a live Tessera: discovery, local verification, refusals, a key
//! rotation picked up by one refetch, a flood of unknown kids that fetches nothing more,
//! and the authority going away.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::Duration;
use tessera_client::{Algorithm, Verifier, VerifyError};
use tessera_test_support::{TestApp, eventually};

fn with_kid(token: &str, kid: &str) -> String {
    let header =
        URL_SAFE_NO_PAD.encode(format!(r#"{{"typ":"at+jwt","alg":"RS256","kid":"{kid}"}}"#));
    let rest = token.split_once('.').unwrap().1;
    format!("{header}.{rest}")
}

#[tokio::test]
async fn tokens_verify_locally_and_forgeries_do_not() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .discover()
        .await
        .unwrap();

    let claims = verifier.verify(&pair.access).await.unwrap();
    assert_eq!(claims.user_id, Some(1));
    assert_eq!(claims.sub, "1");

    assert_eq!(
        verifier.verify(&pair.refresh).await,
        Err(VerifyError::AlgorithmNotAllowed),
        "HS256 refresh tokens never pass"
    );
    assert_eq!(
        verifier.verify("not.a.token").await,
        Err(VerifyError::Malformed)
    );
    let mut tampered = pair.access.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    assert_eq!(
        verifier.verify(&tampered).await,
        Err(VerifyError::InvalidSignature)
    );

    let other_audience = Verifier::builder(app.address.clone(), "billing")
        .discover()
        .await
        .unwrap();
    assert_eq!(
        other_audience.verify(&pair.access).await,
        Err(VerifyError::WrongAudience)
    );
    let ec_only = Verifier::builder(app.address.clone(), "tessera")
        .algorithms(&[Algorithm::ES256])
        .discover()
        .await
        .unwrap();
    assert_eq!(
        ec_only.verify(&pair.access).await,
        Err(VerifyError::AlgorithmNotAllowed)
    );
    let wrong_issuer = Verifier::builder("http://elsewhere.example", "tessera")
        .jwks_url(app.url("/.well-known/jwks.json"))
        .discover()
        .await
        .unwrap();
    assert_eq!(
        wrong_issuer.verify(&pair.access).await,
        Err(VerifyError::WrongIssuer)
    );
}

/// `tessera keys rotate --now` on the server (a key signing at once, never published
/// before), waiting for the server to sign with it.
async fn rotate_now(app: &TestApp) {
    let old = app.state.keys.current().signer().kid().to_owned();
    let master = tessera_server::keys::MasterKey::obtain(None, app.data_dir(), true).unwrap();
    let now = tessera_token::Clock::unix(app.state.clock.as_ref());
    tessera_server::keys::stage_new_key(
        app.state.store.as_ref(),
        &master,
        Algorithm::RS256,
        tessera_token::key::RsaBits::B2048,
        Some(now + 330),
        now,
    )
    .await
    .unwrap();
    eventually(
        "the server signing with the new key",
        Duration::from_secs(4),
        async || (app.state.keys.current().signer().kid() != old).then_some(()),
    )
    .await;
}

#[tokio::test]
async fn a_new_key_costs_one_fetch_and_a_flood_of_unknown_kids_costs_none() {
    let app = TestApp::builder()
        .settings(|s| s.database.key_reload_interval = Duration::from_millis(100))
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .refetch_cooldown(Duration::from_secs(60))
        .discover()
        .await
        .unwrap();
    assert_eq!(verifier.fetch_stats().fetches, 1);

    // Rotate at once on the server; the verifier has never seen the new key.
    rotate_now(&app).await;
    let fresh = app.login("alice").await;
    assert!(
        verifier.verify(&fresh.access).await.is_ok(),
        "one refetch finds the new key"
    );
    assert_eq!(verifier.fetch_stats().unknown_kid_fetches, 1);

    // A flood of made-up kids: the first costs one fetch (the refetch that found the new
    // key charged no cooldown), which finds nothing and starts the cooldown; the rest
    // fetch nothing.
    for i in 0..50 {
        let forged = with_kid(&fresh.access, &format!("made-up-{i}"));
        assert_eq!(verifier.verify(&forged).await, Err(VerifyError::UnknownKey));
    }
    assert_eq!(verifier.fetch_stats().unknown_kid_fetches, 2);
    assert_eq!(verifier.fetch_stats().fetches, 3);
}

/// A made-up kid sent just before an emergency rotation (`keys rotate --now`) holds the new
/// key back for the cooldown at most (it held it for 30 s, and a flood kept it held).
#[tokio::test]
async fn a_made_up_kid_holds_a_new_key_back_for_the_cooldown_at_most() {
    let app = TestApp::builder()
        .settings(|s| s.database.key_reload_interval = Duration::from_millis(100))
        .spawn()
        .await;
    app.create_user("alice", false).await;
    // The default cooldown (5 s; it was 30 s, past this test's 10 s deadline).
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .discover()
        .await
        .unwrap();
    let before = app.login("alice").await;
    let forged = with_kid(&before.access, "made-up");
    assert_eq!(verifier.verify(&forged).await, Err(VerifyError::UnknownKey));
    let fruitless = std::time::Instant::now();

    rotate_now(&app).await;
    let fresh = app.login("alice").await;
    // Meanwhile the attacker keeps sending made-up kids: within the cooldown they fetch
    // nothing, and they do not extend it.
    let accepted = eventually(
        "the new key to verify",
        Duration::from_secs(10),
        async || {
            let forged = with_kid(&fresh.access, "made-up-again");
            let _ = verifier.verify(&forged).await;
            verifier
                .verify(&fresh.access)
                .await
                .is_ok()
                .then(|| fruitless.elapsed())
        },
    )
    .await;
    eprintln!("the new key verified {accepted:?} after the made-up kid");
}

#[tokio::test]
async fn cached_keys_keep_working_while_the_authority_is_away() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .refetch_cooldown(Duration::from_millis(1))
        .discover()
        .await
        .unwrap();
    let address = app.address.clone();
    app.stop().await;
    assert!(
        verifier.verify(&pair.access).await.is_ok(),
        "verified from the cache"
    );
    let forged = with_kid(&pair.access, "unknown");
    assert_eq!(
        verifier.verify(&forged).await,
        Err(VerifyError::UnknownKey),
        "fails closed"
    );
    assert_eq!(verifier.fetch_stats().failures, 1);
    // Building a verifier needs the authority once.
    assert!(
        Verifier::builder(address, "tessera")
            .discover()
            .await
            .is_err()
    );
}

/// Another provider's set (or a proxy in front of Tessera) may carry keys the client cannot
/// use: an X25519 encryption key, a secp256k1 key, a post-quantum one. They are skipped one
/// by one; the service starts and verifies with the keys it can use.
#[tokio::test]
async fn keys_the_client_cannot_use_do_not_hide_the_others() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    let mut jwks: serde_json::Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"].as_array_mut().unwrap().extend([
        serde_json::json!({"kty": "OKP", "crv": "X25519", "use": "enc", "kid": "x",
                           "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}),
        serde_json::json!({"kty": "EC", "crv": "secp256k1", "alg": "ES256K", "kid": "k",
                           "x": "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis",
                           "y": "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}),
        serde_json::json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq", "pub": "AAAA"}),
    ]);
    let body = serde_json::to_string(&jwks).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .jwks_url(url)
        .discover()
        .await
        .expect("the service starts");
    let claims = verifier.verify(&pair.access).await.unwrap();
    assert_eq!(claims.user_id, Some(1));
}

/// Discovery that names keys on another origin is refused (the keys come from the issuer),
/// and a JWKS past the size cap is refused without being read whole.
#[tokio::test]
async fn keys_come_from_the_issuer_and_within_the_size_cap() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let doc = serde_json::json!({"issuer": issuer, "jwks_uri": "http://127.0.0.2:9/jwks"});
    let huge = format!(
        r#"{{"keys": [], "pad": "{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        )
        .route(
            "/big-jwks",
            axum::routing::get(move || {
                let huge = huge.clone();
                async move { huge }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let elsewhere = Verifier::builder(issuer.clone(), "tessera")
        .discover()
        .await;
    assert!(
        elsewhere
            .as_ref()
            .is_err_and(|e| e.to_string().contains("origin")),
        "{elsewhere:?}"
    );
    let big = Verifier::builder(issuer.clone(), "tessera")
        .jwks_url(format!("{issuer}/big-jwks"))
        .discover()
        .await;
    assert!(
        big.as_ref()
            .is_err_and(|e| e.to_string().contains("larger")),
        "{big:?}"
    );
}

/// A JWKS answer with no key the client can use is a failed fetch: the keys it has stay in
/// use (stale, bounded), instead of being replaced by none.
#[tokio::test]
async fn a_jwks_with_no_usable_key_does_not_replace_the_cached_one() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    let genuine = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let served = std::sync::Arc::new(std::sync::Mutex::new(genuine));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let body = served.clone();
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let body = body.lock().unwrap().clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .jwks_url(url)
        .refetch_cooldown(Duration::from_millis(1))
        .discover()
        .await
        .unwrap();
    assert!(verifier.verify(&pair.access).await.is_ok());
    *served.lock().unwrap() = serde_json::json!({"keys": [
        {"kty": "OKP", "crv": "X25519", "use": "enc", "kid": "x",
         "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}
    ]})
    .to_string();
    // An unknown kid makes it fetch the useless set.
    let forged = with_kid(&pair.access, "made-up");
    assert_eq!(verifier.verify(&forged).await, Err(VerifyError::UnknownKey));
    assert_eq!(verifier.fetch_stats().failures, 1);
    assert!(
        verifier.verify(&pair.access).await.is_ok(),
        "the cached keys are still used"
    );
}

/// The verifier reads the time from the clock it is given (`Builder::clock`), not the
/// system's: the authority's own clock here, so a token expires when that clock says,
/// within the leeway and not before.
#[tokio::test]
async fn the_verifier_checks_expiry_against_its_clock() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .clock(app.clock.clone())
        .discover()
        .await
        .unwrap();
    assert!(verifier.verify(&pair.access).await.is_ok());
    // Access tokens live 5 minutes; the leeway is 30 s.
    app.clock.advance(Duration::from_secs(300 + 25));
    assert!(
        verifier.verify(&pair.access).await.is_ok(),
        "within the leeway"
    );
    app.clock.advance(Duration::from_secs(10));
    assert_eq!(
        verifier.verify(&pair.access).await,
        Err(VerifyError::Expired)
    );
}
