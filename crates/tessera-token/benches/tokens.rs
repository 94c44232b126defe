//! Sign and verify per algorithm, the full issue-token path (access + refresh), and the
//! raw aws-lc-rs RS256 sign and verify of the same bytes as the reference.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark"
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tessera_token::claims::new_jti;
use tessera_token::sign::{sign_access, sign_refresh};
use tessera_token::validate::verify_access;
use tessera_token::{
    AccessClaims, Algorithm, Audience, KeySet, MacKey, RefreshClaims, SigningKey, TokenType,
    Validation,
};

const NOW: i64 = 1_800_000_000;

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "http://127.0.0.1:8000".into(),
        sub: "42".into(),
        aud: Audience::One("tessera".into()),
        exp: NOW + 300,
        iat: NOW,
        nbf: NOW,
        jti: new_jti().unwrap(),
        token_type: TokenType::Access,
        user_id: Some(42),
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

fn per_algorithm(c: &mut Criterion) {
    let validation = Validation::new("http://127.0.0.1:8000", "tessera");
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        let mut keys = KeySet::new();
        keys.insert(key.public_key().clone());
        let token = sign_access(&key, &claims()).unwrap();
        c.bench_function(&format!("sign/{alg}"), |b| {
            b.iter(|| sign_access(&key, black_box(&claims())).unwrap())
        });
        c.bench_function(&format!("verify/{alg}"), |b| {
            b.iter(|| verify_access(black_box(&token), &keys, &validation, NOW).unwrap())
        });
    }
}

fn issue_pair(c: &mut Criterion) {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let mac = MacKey::generate().unwrap();
    c.bench_function("issue_pair/RS256+HS256", |b| {
        b.iter(|| {
            let access = sign_access(&key, &claims()).unwrap();
            let refresh = RefreshClaims {
                iss: "http://127.0.0.1:8000".into(),
                sub: "42".into(),
                exp: NOW + 86_400,
                iat: NOW,
                jti: new_jti().unwrap(),
                fam: new_jti().unwrap(),
                token_type: TokenType::Refresh,
                user_id: 42,
                client_id: None,
                scope: None,
                sep: 0,
                auth_time: None,
                sid: None,
                acr: None,
                amr: Vec::new(),
            };
            (access, sign_refresh(&mac, &refresh).unwrap())
        })
    });
}

fn raw_reference(c: &mut Criterion) {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let pair = RsaKeyPair::from_pkcs8(key.expose_pkcs8_der()).unwrap();
    let token = sign_access(&key, &claims()).unwrap();
    let (message, _) = token.rsplit_once('.').unwrap();
    let rng = SystemRandom::new();
    let mut sig = vec![0u8; pair.public_modulus_len()];
    c.bench_function("raw_aws_lc/RS256_sign", |b| {
        b.iter(|| {
            pair.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                black_box(message.as_bytes()),
                &mut sig,
            )
            .unwrap()
        })
    });
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &rng,
        message.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let public = signature::UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public_key().as_ref().to_vec(),
    );
    c.bench_function("raw_aws_lc/RS256_verify", |b| {
        b.iter(|| public.verify(black_box(message.as_bytes()), &sig).unwrap())
    });
}

criterion_group!(benches, raw_reference, per_algorithm, issue_pair);
criterion_main!(benches);
