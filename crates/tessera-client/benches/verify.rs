//! A resource server's hot path: verifying an RS256 access token through the `Verifier`
//! (cached JWKS, header, key by kid, signature, claims), against aws-lc-rs verifying the
//! same token's signature alone, in the same run:
//! - `raw/unparsed`: `RsaPublicKeyComponents::verify` (the key is read on every call, as
//!   ring-style APIs and jsonwebtoken do);
//! - `raw/parsed`: `ParsedPublicKey::verify_sig` (key parsed once: the floor).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark"
)]

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tessera_client::Verifier;
use tessera_test_support::TestApp;

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, verifier, token, jwks) = rt.block_on(async {
        let app = TestApp::spawn().await;
        app.create_user("alice", false).await;
        let token = app.login("alice").await.access;
        let verifier = Verifier::builder(app.address.clone(), "tessera")
            .discover()
            .await
            .unwrap();
        let jwks: serde_json::Value = app
            .client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (app, verifier, token, jwks)
    });
    let jwk = &jwks["keys"][0];
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let components = RsaPublicKeyComponents { n: &n, e: &e };
    let parsed = components
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .unwrap();
    let (message, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();

    c.bench_function("raw/unparsed", |b| {
        b.iter(|| {
            components
                .verify(
                    &RSA_PKCS1_2048_8192_SHA256,
                    black_box(message.as_bytes()),
                    &sig,
                )
                .unwrap()
        })
    });
    c.bench_function("raw/parsed", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(message.as_bytes()), &sig)
                .unwrap()
        })
    });
    c.bench_function("client/Verifier::verify", |b| {
        b.iter(|| rt.block_on(verifier.verify(black_box(&token))).unwrap())
    });
    drop(verifier);
    rt.block_on(app.stop());
}

criterion_group!(benches, verify);
criterion_main!(benches);
