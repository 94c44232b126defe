//! Any bytes as an OAuth token request body (application/x-www-form-urlencoded) and as an
//! `Authorization: Basic` header value: parsed or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_proto::oauth::{TokenRequest, parse_basic};

fuzz_target!(|data: &[u8]| {
    let _ = serde_urlencoded::from_bytes::<TokenRequest>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_basic(text);
    }
});
