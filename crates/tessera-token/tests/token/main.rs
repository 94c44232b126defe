//! Sign-and-verify tests of tessera-token, including the forgeries an attacker would try.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
#![allow(missing_docs, reason = "test helpers")]

mod forgery;
mod legacy_shape;

use tessera_token::claims::new_jti;
use tessera_token::{
    AccessClaims, Audience, KeySet, MacKey, RefreshClaims, SigningKey, TokenType, Validation,
};

pub const ISS: &str = "http://127.0.0.1:8000";
pub const AUD: &str = "tessera";
pub const NOW: i64 = 1_800_000_000;

pub fn access_claims() -> AccessClaims {
    AccessClaims {
        iss: ISS.into(),
        sub: "42".into(),
        aud: Audience::One(AUD.into()),
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

pub fn refresh_claims() -> RefreshClaims {
    RefreshClaims {
        iss: ISS.into(),
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
    }
}

pub fn keyset(key: &SigningKey) -> KeySet {
    let mut set = KeySet::new();
    set.insert(key.public_key().clone());
    set
}

pub fn validation() -> Validation {
    Validation::new(ISS, AUD)
}

pub fn mac() -> MacKey {
    MacKey::generate().unwrap()
}

#[test]
fn an_rsa_key_with_a_small_public_exponent_is_refused() {
    // `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3`
    let pem = include_str!("../data/rsa-e3.pem");
    for alg in [
        tessera_token::Algorithm::RS256,
        tessera_token::Algorithm::PS256,
    ] {
        let refused = tessera_token::SigningKey::from_pkcs8_pem(alg, pem);
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("65537")),
            "{refused:?}"
        );
    }
}
