//! Password hashes as Django stores them (`auth_user.password`, `manage.py dumpdata`), so
//! users imported from a Django project log in with the password they had; the login then
//! replaces the hash with an Argon2id one (see `password::Verdict::needs_rehash`).
//!
//! Formats (`django.contrib.auth.hashers`):
//! - `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (Django's default) and `pbkdf2_sha1$…`;
//! - `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`: a PHC string behind a `argon2` prefix;
//! - `bcrypt_sha256$$2b$…`: bcrypt over the hex SHA-256 of the password; `bcrypt$$2b$…`.
//!
//! A hash starting with `!` is Django's unusable password: kept as is, never matches.

use super::hash_cost;
use argon2::password_hash::PasswordHash;
use aws_lc_rs::pbkdf2;
use base64::Engine as _;
use std::num::NonZeroU32;

/// A parsed Django hash.
#[derive(Debug, Clone)]
pub enum DjangoHash<'a> {
    /// PBKDF2-HMAC (SHA-256 or SHA-1).
    Pbkdf2 {
        /// The PRF.
        prf: Prf,
        /// Iteration count.
        iterations: NonZeroU32,
        /// The salt as Django stores it (used as its UTF-8 bytes).
        salt: &'a str,
        /// The derived key.
        derived: Vec<u8>,
    },
    /// An Argon2 PHC string.
    Argon2(PasswordHash<'a>),
    /// bcrypt over the hex SHA-256 of the password.
    BcryptSha256(&'a str),
    /// bcrypt over the password.
    Bcrypt(&'a str),
}

/// The HMAC under PBKDF2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prf {
    /// `pbkdf2_sha256`.
    Sha256,
    /// `pbkdf2_sha1` (Django before 1.4's default).
    Sha1,
}

/// Parses `encoded` if it is one of the Django formats above and within the cost bounds
/// of [`super::hash_cost`] (`argon2`: Argon2's, a hash beyond them is never verified).
pub fn parse<'a>(encoded: &'a str, argon2: &hash_cost::Argon2Bounds) -> Option<DjangoHash<'a>> {
    if encoded.len() > hash_cost::MAX_ENCODED_BYTES {
        return None;
    }
    let (prefix, rest) = encoded.split_once('$')?;
    match prefix {
        "pbkdf2_sha256" => parse_pbkdf2(Prf::Sha256, rest),
        "pbkdf2_sha1" => parse_pbkdf2(Prf::Sha1, rest),
        // The PHC string starts at the `$` after the prefix.
        "argon2" => PasswordHash::new(&encoded["argon2".len()..])
            .ok()
            .filter(|h| {
                h.algorithm.as_str().starts_with("argon2") && hash_cost::argon2_ok(h, argon2)
            })
            .map(DjangoHash::Argon2),
        "bcrypt_sha256" => rest
            .strip_prefix('$')
            .filter(|h| hash_cost::bcrypt_ok(h))
            .map(DjangoHash::BcryptSha256),
        "bcrypt" => rest
            .strip_prefix('$')
            .filter(|h| hash_cost::bcrypt_ok(h))
            .map(DjangoHash::Bcrypt),
        _ => None,
    }
}

fn parse_pbkdf2(prf: Prf, rest: &str) -> Option<DjangoHash<'_>> {
    let mut parts = rest.splitn(3, '$');
    let iterations = parts.next()?.parse::<NonZeroU32>().ok()?;
    let salt = parts.next()?;
    let derived = base64::engine::general_purpose::STANDARD
        .decode(parts.next()?)
        .ok()?;
    (!salt.is_empty()
        && !derived.is_empty()
        && hash_cost::pbkdf2_ok(iterations.get(), prf.output_len(), salt, &derived))
    .then_some(DjangoHash::Pbkdf2 {
        prf,
        iterations,
        salt,
        derived,
    })
}

impl Prf {
    /// Bytes of one output block.
    fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha1 => 20,
        }
    }
}

/// Whether `encoded` is Django's mark for "no usable password".
pub fn is_unusable(encoded: &str) -> bool {
    encoded.starts_with('!')
}

impl DjangoHash<'_> {
    /// Whether `password` matches (comparisons in constant time, by the primitives' own
    /// verifiers).
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            Self::Pbkdf2 {
                prf,
                iterations,
                salt,
                derived,
            } => {
                let algorithm = match prf {
                    Prf::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
                    Prf::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
                };
                pbkdf2::verify(algorithm, *iterations, salt.as_bytes(), password, derived).is_ok()
            }
            Self::Argon2(hash) => super::argon2_memory::verify(password, hash),
            Self::BcryptSha256(hash) => {
                let hex = crate::domain::digest::sha256_hex(password);
                bcrypt::verify(hex.as_bytes(), hash).unwrap_or(false)
            }
            Self::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
        }
    }
}

impl DjangoHash<'_> {
    /// Whether the hash covers all of a password of `len` bytes: bcrypt reads only the
    /// first 72, so a longer password that verifies may differ from the real one after
    /// them, and a rehash of it would lock the real password out.
    pub fn covers(&self, len: usize) -> bool {
        !matches!(self, Self::Bcrypt(_)) || len <= BCRYPT_MAX_BYTES
    }
}

/// The bytes of a password bcrypt reads.
const BCRYPT_MAX_BYTES: usize = 72;

#[cfg(test)]
mod tests {
    use super::*;

    // Made by Django 5.2's `make_password("correct horse", hasher=…)`.
    const PBKDF2_SHA256: &str =
        "pbkdf2_sha256$1000000$OSSjswC628FhoOKPFMTQeo$sMgonSMZvEM72MECO/noq1Zc0BloA1bDzKMwM/fKDyc=";
    const PBKDF2_SHA1: &str =
        "pbkdf2_sha1$1000000$yJT0eGds2zS8LN2lvRFFRi$LUbgPG16mP5xFmZF+ooBNrU8MeY=";
    const ARGON2: &str = "argon2$argon2id$v=19$m=102400,t=2,p=8$M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8";
    const BCRYPT_SHA256: &str =
        "bcrypt_sha256$$2b$12$hro1siLWWlR5gLp/eBbnIOYqpu6YQaaA.99dishBk3nWVYaAS.R7.";
    const BCRYPT: &str = "bcrypt$$2b$12$Y7OX26nIlcGaunmRgEdSxuD//RD3oK/JOV/OnQ5JH5w/G9nP3wljm";

    #[test]
    fn every_django_hasher_verifies_the_right_password_only() {
        for encoded in [PBKDF2_SHA256, PBKDF2_SHA1, ARGON2, BCRYPT_SHA256, BCRYPT] {
            let hash = parse(encoded, &Default::default())
                .unwrap_or_else(|| panic!("{encoded} not parsed"));
            assert!(hash.verify(b"correct horse"), "{encoded}");
            assert!(!hash.verify(b"correct horse "), "{encoded}");
            assert!(!hash.verify(b""), "{encoded}");
        }
    }

    #[test]
    fn malformed_and_foreign_hashes_are_not_django_hashes() {
        for encoded in [
            "",
            "!unusable",
            "md5$salt$hash",
            "pbkdf2_sha256$0$salt$aGFzaA==",
            "pbkdf2_sha256$x$salt$aGFzaA==",
            "pbkdf2_sha256$1000$$aGFzaA==",
            "pbkdf2_sha256$1000$salt$not base64",
            "pbkdf2_sha256$1000$salt",
            "argon2$bcrypt$x",
            "argon2",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(parse(encoded, &Default::default()).is_none(), "{encoded:?}");
        }
        assert!(is_unusable("!abc"));
        assert!(!is_unusable(PBKDF2_SHA256));
    }

    #[test]
    fn a_garbled_or_too_costly_hash_is_not_read() {
        for encoded in [
            "bcrypt_sha256$$2b$12$short",
            "bcrypt$$2b$31$Y7OX26nIlcGaunmRgEdSxuD//RD3oK/JOV/OnQ5JH5w/G9nP3wljm",
            "pbkdf2_sha256$2000000000$OSSjswC628FhoOKPFMTQeo$sMgonSMZvEM72MECO/noq1Zc0BloA1bDzKMwM/fKDyc=",
            "argon2$argon2id$v=19$m=4294967295,t=1,p=1$M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8",
            "argon2$argon2id$v=19$m=19456,t=2,p=1,t=4000000000$M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8",
        ] {
            assert!(parse(encoded, &Default::default()).is_none(), "{encoded}");
        }
    }
}
