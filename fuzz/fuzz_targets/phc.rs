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
        // Cheap parameters only: a fuzzer must not spend its time hashing. The costs are
        // read as the hasher reads them (`Params::try_from`, which takes the last of a
        // parameter given twice), not by a first-match look-up of our own: the guard once
        // read the first `t` of `t=2,m=23,t=111111111` and the fuzzer hashed for minutes.
        let small = argon2::Params::try_from(&hash)
            .is_ok_and(|p| p.m_cost() <= 64 && p.t_cost() <= 2 && p.p_cost() <= 2)
            && hash.hash.is_none_or(|h| h.len() <= 64);
        if small && hash.algorithm.as_str().starts_with("argon2") {
            let _ = argon2::Argon2::default().verify_password(b"password", &hash);
        }
    }
});
