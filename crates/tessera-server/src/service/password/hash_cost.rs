//! The most a stored password hash may cost to verify. A hash is data from outside when
//! it is imported (`tessera import django`, `tessera import`): one with Argon2's memory at
//! 4 TiB aborts the process on the first login (an allocation failure is no panic
//! `catch_unwind` could stop), and one with two billion PBKDF2 iterations or bcrypt cost 31
//! pins a hashing thread for days. Such hashes are refused at import and never verified.
//!
//! The costs are read exactly as the hashers read them: Argon2's through
//! `Params::try_from` (the crate's own reading), after refusing a parameter given twice
//! (`m=19456,t=2,p=1,t=4000000000`: a first-match reader and the hasher would disagree).

use argon2::Params;
use argon2::password_hash::PasswordHash;

/// PBKDF2 work: iterations times the blocks of the derived key (Django 5.2 uses
/// 1,000,000 iterations and one block; each further block of the PRF's output size costs
/// the iterations again, so a 64-byte SHA-1 key at 10 M iterations is 40 M of work).
pub const MAX_PBKDF2_WORK: u64 = 10_000_000;
/// PBKDF2 derived-key bytes.
pub const MAX_PBKDF2_KEY_BYTES: usize = 64;
/// Argon2 memory, KiB (256 MiB; Django's default is 100 MiB, Tessera's 19 MiB): each of
/// `max_concurrent_hashes` slots may hold this much during a login.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// Argon2 passes.
pub const MAX_ARGON2_TIME: u32 = 10;
/// Argon2 work: memory (KiB) times passes (1 GiB-pass: 256 MiB × 4, 100 MiB × 10).
pub const MAX_ARGON2_WORK: u64 = 1024 * 1024;
/// Argon2 lanes.
pub const MAX_ARGON2_LANES: u32 = 64;
/// Argon2 output bytes.
pub const MAX_ARGON2_OUTPUT_BYTES: usize = 64;
/// bcrypt's cost (log2 of the rounds; Django uses 12; each step doubles the time).
pub const MAX_BCRYPT_COST: u32 = 14;
/// Salts, in characters as stored.
pub const MAX_SALT_CHARS: usize = 128;
/// A whole stored hash, in bytes.
pub const MAX_ENCODED_BYTES: usize = 512;

/// The Argon2 costs a stored hash may have: the constants above, or the server's own
/// parameters where they are higher (its own hashes always verify).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Bounds {
    memory_kib: u32,
    time: u32,
    lanes: u32,
    work: u64,
}

impl Default for Argon2Bounds {
    fn default() -> Self {
        Self {
            memory_kib: MAX_ARGON2_MEMORY_KIB,
            time: MAX_ARGON2_TIME,
            lanes: MAX_ARGON2_LANES,
            work: MAX_ARGON2_WORK,
        }
    }
}

impl Argon2Bounds {
    /// The bounds for a server hashing with `own`.
    pub fn with_own(own: &Params) -> Self {
        let d = Self::default();
        Self {
            memory_kib: d.memory_kib.max(own.m_cost()),
            time: d.time.max(own.t_cost()),
            lanes: d.lanes.max(own.p_cost()),
            work: d
                .work
                .max(u64::from(own.m_cost()) * u64::from(own.t_cost())),
        }
    }

    /// The bounds for a server configured with `passwords`.
    pub fn for_settings(passwords: &crate::config::PasswordSettings) -> Self {
        match Params::new(
            passwords.memory_kib,
            passwords.iterations,
            passwords.parallelism,
            None,
        ) {
            Ok(own) => Self::with_own(&own),
            Err(_) => Self::default(),
        }
    }
}

/// Whether an Argon2 PHC hash is within `bounds`, its parameters each given once.
pub fn argon2_ok(hash: &PasswordHash<'_>, bounds: &Argon2Bounds) -> bool {
    let mut names: Vec<&str> = hash.params.iter().map(|(name, _)| name.as_str()).collect();
    let given = names.len();
    names.sort_unstable();
    names.dedup();
    if names.len() != given {
        return false;
    }
    let Ok(p) = Params::try_from(hash) else {
        return false;
    };
    p.m_cost() <= bounds.memory_kib
        && p.t_cost() <= bounds.time
        && p.p_cost() <= bounds.lanes
        && u64::from(p.m_cost()) * u64::from(p.t_cost()) <= bounds.work
        && hash.hash.is_none_or(|h| h.len() <= MAX_ARGON2_OUTPUT_BYTES)
        && hash.salt.is_none_or(|s| s.len() <= MAX_SALT_CHARS)
}

/// Whether PBKDF2 with these values is within the bounds; `block` is the PRF's output size
/// in bytes (32 for SHA-256, 20 for SHA-1).
pub fn pbkdf2_ok(iterations: u32, block: usize, salt: &str, derived: &[u8]) -> bool {
    let blocks = derived.len().div_ceil(block.max(1));
    u64::from(iterations).saturating_mul(u64::try_from(blocks).unwrap_or(u64::MAX))
        <= MAX_PBKDF2_WORK
        && salt.len() <= MAX_SALT_CHARS
        && derived.len() <= MAX_PBKDF2_KEY_BYTES
}

/// Whether a bcrypt hash (`$2b$12$…`, the leading `$` optional as the `bcrypt` crate reads
/// it) is well formed and within the bounds: the cost the crate will use is the field after
/// the variant.
pub fn bcrypt_ok(hash: &str) -> bool {
    let mut parts = hash.strip_prefix('$').unwrap_or(hash).split('$');
    let (Some(variant), Some(cost), Some(rest), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    matches!(variant, "2a" | "2b" | "2x" | "2y")
        && cost.len() == 2
        && cost.parse::<u32>().is_ok_and(|c| c <= MAX_BCRYPT_COST)
        && rest.len() == 53
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argon(s: &str) -> bool {
        argon2_ok(
            &PasswordHash::new(s).unwrap_or_else(|e| panic!("{s}: {e}")),
            &Argon2Bounds::default(),
        )
    }

    #[test]
    fn argon2_costs_are_bounded_and_each_given_once() {
        let salt_hash =
            "M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8";
        assert!(argon(&format!(
            "$argon2id$v=19$m=19456,t=2,p=1${salt_hash}"
        )));
        assert!(argon(&format!(
            "$argon2id$v=19$m=262144,t=4,p=64${salt_hash}"
        )));
        assert!(argon(&format!(
            "$argon2id$v=19$m=102400,t=10,p=8${salt_hash}"
        )));
        for params in [
            "m=4294967295,t=1,p=1",
            "m=1048576,t=1,p=1",
            "m=262145,t=1,p=1",
            "m=262144,t=5,p=1",
            "m=19456,t=4294967295,p=1",
            "m=19456,t=11,p=1",
            "m=19456,t=2,p=65",
            "m=19456,t=2,p=1,t=4000000000",
            "t=2,m=23,t=111111111",
            "m=19456,t=2,p=1,t=2",
        ] {
            assert!(
                !argon(&format!("$argon2id$v=19${params}${salt_hash}")),
                "{params}"
            );
        }
    }

    #[test]
    fn a_server_hashing_above_the_bounds_still_verifies_its_own_hashes() {
        let own = Params::new(19_456, 60, 1, None).unwrap();
        let hash = PasswordHash::new(
            "$argon2id$v=19$m=19456,t=60,p=1$M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8",
        )
        .unwrap();
        assert!(!argon2_ok(&hash, &Argon2Bounds::default()));
        assert!(argon2_ok(&hash, &Argon2Bounds::with_own(&own)));
    }

    #[test]
    fn pbkdf2_and_bcrypt_costs_are_bounded() {
        assert!(pbkdf2_ok(1_000_000, 32, "salt", &[0; 32]));
        assert!(pbkdf2_ok(10_000_000, 32, "salt", &[0; 32]));
        assert!(!pbkdf2_ok(2_000_000_000, 32, "salt", &[0; 32]));
        assert!(
            !pbkdf2_ok(10_000_000, 20, "salt", &[0; 64]),
            "4 SHA-1 blocks"
        );
        assert!(pbkdf2_ok(2_500_000, 20, "salt", &[0; 64]));
        assert!(!pbkdf2_ok(1_000, 32, "salt", &[0; 4096]));
        assert!(!pbkdf2_ok(1_000, 32, &"s".repeat(4096), &[0; 32]));
        let rest = "Y7OX26nIlcGaunmRgEdSxuD//RD3oK/JOV/OnQ5JH5w/G9nP3wljm";
        assert!(bcrypt_ok(&format!("$2b$12${rest}")));
        assert!(bcrypt_ok(&format!("$2b$14${rest}")));
        for bad in [
            format!("$2b$31${rest}"),
            format!("$2b$15${rest}"),
            format!("$2b$4${rest}"),
            format!("$2q$12${rest}"),
            format!("$2b$12${rest}x"),
            format!("$2b$12${rest}$x"),
            format!("$2b$$12${rest}"),
            "$2b$12$short".to_owned(),
        ] {
            assert!(!bcrypt_ok(&bad), "{bad}");
        }
    }
}
