//! Any string as an access token, a refresh token and a legacy simplejwt token: the
//! verifiers answer Ok or Err, never panic, and accept nothing that the real key did not
//! sign (the keys are generated here, so a random input cannot carry their signature).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera_token::validate::{verify_access, verify_legacy_access, verify_refresh};
use tessera_token::{Algorithm, KeySet, MacKey, SigningKey, Validation};

struct Keys {
    set: KeySet,
    rsa: SigningKey,
    mac: MacKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut set = KeySet::new();
        let mut rsa = None;
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).expect("key");
            set.insert(key.public_key().clone());
            if alg == Algorithm::RS256 {
                rsa = Some(key);
            }
        }
        Keys {
            set,
            rsa: rsa.expect("an RS256 key"),
            mac: MacKey::generate().expect("mac"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let k = keys();
    let validation = Validation::new("https://tessera.test", "tessera");
    let now = 1_800_000_000;
    assert!(verify_access(token, &k.set, &validation, now).is_err());
    assert!(verify_refresh(token, &k.mac, &validation, now).is_err());
    assert!(verify_legacy_access(token, k.rsa.public_key(), &validation, now).is_err());
});
