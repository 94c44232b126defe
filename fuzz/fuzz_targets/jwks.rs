//! Any bytes as a JWKS document (what tessera-client fetches): parsed or refused, never a
//! panic; what parses can be serialised again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_token::KeySet;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = KeySet::from_jwks_json(data) {
        let _ = serde_json::to_vec(&set.to_jwks());
    }
});
