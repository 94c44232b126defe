//! Tokens must decode in naive legacy parsers (drf_remotejwt decodes the header with the
//! standard base64 alphabet and no padding).

use crate::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use tessera_token::Algorithm;
use tessera_token::sign::{sign_access, sign_refresh};

fn assert_legacy_decodable(token: &str) {
    for (i, part) in token.split('.').take(2).enumerate() {
        assert!(
            !part.contains(['-', '_']),
            "part {i} of {token} uses the url-safe alphabet"
        );
        assert_eq!(part.len() % 4, 0, "part {i} of {token} would need padding");
        let bytes = STANDARD_NO_PAD.decode(part).unwrap();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
    }
}

#[test]
fn access_and_refresh_tokens_decode_without_padding() {
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        for _ in 0..20 {
            assert_legacy_decodable(&sign_access(&key, &access_claims()).unwrap());
        }
    }
    let mac = mac();
    for _ in 0..20 {
        assert_legacy_decodable(&sign_refresh(&mac, &refresh_claims()).unwrap());
    }
}
