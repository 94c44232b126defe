//! Argon2 hashing and verification in memory each hashing thread keeps.
//!
//! `argon2`'s `hash_password` and `verify_password` allocate the whole memory of a hash
//! (19 MiB by default) and free it after every call. glibc's malloc then raises its mmap
//! threshold past that size and from the next hash on keeps the freed blocks in its
//! arenas: a handful of logins left the server over 170 MB resident. Here each thread
//! allocates the blocks once and reuses them, so hash memory is exactly
//! `max_concurrent_hashes × memory_kib` once every hashing thread has worked. The
//! computation itself is the crate's (`hash_password_into_with_memory`), the comparison
//! `password_hash::Output`'s constant-time `==`, exactly as `verify_password` does.

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;

/// Hashes needing more blocks than this (imported with unusual parameters) get memory of
/// their own for the call instead of growing the thread's for good: 4 × the default.
const KEPT_BLOCKS: usize = 4 * 19_456;

thread_local! {
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with at least `count` blocks of this thread's memory.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    if count > KEPT_BLOCKS {
        return f(&mut vec![Block::default(); count]);
    }
    BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        f(&mut blocks[..count])
    })
}

/// The PHC string of `password` hashed by `argon` with `salt` (as `hash_password`).
///
/// # Errors
/// What `argon2` refuses (salt or parameters).
pub fn hash(
    argon: &Argon2<'_>,
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: Salt<'_>,
) -> argon2::password_hash::Result<String> {
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf)?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = with_blocks(params.block_count(), |blocks| {
        Output::init_with(output_len, |out| {
            Ok(argon.hash_password_into_with_memory(password, salt_bytes, out, &mut *blocks)?)
        })
    })?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt),
        hash: Some(output),
    }
    .to_string())
}

/// Whether `password` matches the Argon2 `hash` (any variant and version it names).
pub fn verify(password: &[u8], hash: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let Ok(version) = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed = with_blocks(params.block_count(), |blocks| {
        Output::init_with(expected.len(), |out| {
            Ok(argon.hash_password_into_with_memory(password, salt_bytes, out, &mut *blocks)?)
        })
    });
    // `Output`'s `==` is constant-time.
    computed.is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, SaltString};

    fn small() -> Params {
        Params::new(64, 1, 1, None).unwrap()
    }

    #[test]
    fn hashes_as_the_crate_does_and_verifies_its_hashes() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, small());
        let ours = hash(
            &argon,
            Algorithm::Argon2id,
            Version::V0x13,
            &small(),
            b"secret",
            salt.as_salt(),
        )
        .unwrap();
        let theirs = argon.hash_password(b"secret", &salt).unwrap().to_string();
        assert_eq!(ours, theirs);
        let parsed = PasswordHash::new(&theirs).unwrap();
        assert!(verify(b"secret", &parsed));
        assert!(!verify(b"secreT", &parsed));
    }

    #[test]
    fn verifies_other_variants_versions_and_sizes() {
        let salt = SaltString::encode_b64(b"another salt 123").unwrap();
        for (alg, version, params) in [
            (Algorithm::Argon2i, Version::V0x10, small()),
            (Algorithm::Argon2d, Version::V0x13, small()),
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(128, 2, 2, Some(48)).unwrap(),
            ),
        ] {
            let phc = Argon2::new(alg, version, params)
                .hash_password(b"pw", &salt)
                .unwrap()
                .to_string();
            let parsed = PasswordHash::new(&phc).unwrap();
            assert!(verify(b"pw", &parsed), "{phc}");
            assert!(!verify(b"pw2", &parsed), "{phc}");
        }
    }

    #[test]
    fn a_hash_without_salt_or_output_never_matches() {
        let parsed = PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1").unwrap();
        assert!(!verify(b"", &parsed));
    }
}
