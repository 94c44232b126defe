//! One Argon2id hash with the server's default parameters (`[passwords]`: m = 19456 KiB,
//! t = 2, p = 1), on one thread: the single-hash time that bounds password logins
//! (at most cores ÷ this per second). `bench/compare.sh` reads it for the login target.
//!   cargo bench -p tessera-server --bench password
#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark")]

use argon2::{Algorithm, Argon2, Params, Version};
use criterion::{Criterion, criterion_group, criterion_main};
use tessera_server::config::PasswordSettings;

fn argon2id(c: &mut Criterion) {
    let s = PasswordSettings::default();
    let params = Params::new(s.memory_kib, s.iterations, s.parallelism, None).unwrap();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = [7u8; 16];
    let mut out = [0u8; 32];
    let mut group = c.benchmark_group("password");
    group.sample_size(20);
    group.bench_function("argon2id_default", |b| {
        b.iter(|| {
            argon
                .hash_password_into(b"correct horse battery staple", &salt, &mut out)
                .unwrap();
        });
    });
    group.finish();
}

criterion_group!(benches, argon2id);
criterion_main!(benches);
