//! The verifier against a live Tessera: discovery, local verification, refusals, a key
//! rotation picked up by one refetch, a flood of unknown kids that fetches nothing more,
//! and the authority going away.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests"
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::Duration;
use tessera_client::{Algorithm, Verifier, VerifyError};
use tessera_test_support::TestApp;

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
    for _ in 0..100 {
        if app.state.keys.current().signer().kid() != old {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh = app.login("alice").await;
    assert!(
        verifier.verify(&fresh.access).await.is_ok(),
        "one refetch finds the new key"
    );
    assert_eq!(verifier.fetch_stats().unknown_kid_fetches, 1);

    // A flood of made-up kids within the cooldown fetches nothing.
    for i in 0..50 {
        let forged = with_kid(&fresh.access, &format!("made-up-{i}"));
        assert_eq!(verifier.verify(&forged).await, Err(VerifyError::UnknownKey));
    }
    assert_eq!(verifier.fetch_stats().unknown_kid_fetches, 1);
    assert_eq!(verifier.fetch_stats().fetches, 2);
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
