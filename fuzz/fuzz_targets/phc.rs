//! Any string as a stored password hash (PHC string, as `tessera user import` reads them):
//! parsed or refused, never a panic; a parsed Argon2 hash is verified without panicking.
#![no_main]

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(hash) = PasswordHash::new(text) {
        // Cheap parameters only: a fuzzer must not spend its time hashing.
        let small = hash
            .params
            .get_decimal("m")
            .is_some_and(|m| m <= 64)
            && hash.params.get_decimal("t").is_some_and(|t| t <= 2);
        if small && hash.algorithm.as_str().starts_with("argon2") {
            let _ = argon2::Argon2::default().verify_password(b"password", &hash);
        }
    }
});
