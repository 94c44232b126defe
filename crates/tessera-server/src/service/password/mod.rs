//! Argon2id password hashing, off the async runtime, with a bounded number of hashes at
//! once (a flood of logins waits in a queue with a timeout instead of exhausting memory).

pub mod argon2_memory;
pub mod django_hash;
pub mod hash_cost;
pub mod hash_pool;
pub mod policy;

use crate::config::PasswordSettings;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use std::time::Duration;
use tessera_proto::Secret;
use tokio::sync::Semaphore;

/// Hashing could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// Too many hashes queued: the caller should retry later (503).
    #[error("password hashing is saturated")]
    Busy,
    /// The password is longer than allowed; refused before hashing.
    #[error("password longer than {0} bytes")]
    TooLong(usize),
    /// The hasher failed (bad parameters, random generator, a panicked worker).
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The password is right.
    pub matches: bool,
    /// The stored hash uses weaker parameters than configured: store a new one.
    pub needs_rehash: bool,
}

/// The hasher.
#[derive(Debug)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
    params: Params,
    permits: Arc<Semaphore>,
    /// Hashes waiting for a permit (the queue depth).
    waiting: Arc<std::sync::atomic::AtomicI64>,
    queue_timeout: Duration,
    max_length: usize,
    dummy: String,
    pool: hash_pool::HashPool,
    /// The costs a stored Argon2 hash may have (`hash_cost`).
    bounds: hash_cost::Argon2Bounds,
}

impl PasswordHasher {
    /// Builds the hasher and the dummy hash used for unknown users.
    ///
    /// # Errors
    /// [`HashError::Internal`] for parameters Argon2 refuses.
    pub fn new(s: &PasswordSettings) -> Result<Self, HashError> {
        let params =
            Params::new(s.memory_kib, s.iterations, s.parallelism, None).map_err(internal)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy = hash_blocking(&argon, "tessera dummy password for unknown users")?;
        Ok(Self {
            argon,
            bounds: hash_cost::Argon2Bounds::with_own(&params),
            params,
            permits: Arc::new(Semaphore::new(s.max_concurrent_hashes)),
            waiting: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            queue_timeout: s.queue_timeout,
            max_length: s.max_length,
            dummy,
            pool: hash_pool::HashPool::start(s.max_concurrent_hashes, hash_priority(s))
                .map_err(internal)?,
        })
    }

    /// The longest accepted password, in bytes.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Hashes waiting for a free hashing slot now.
    pub fn queue_depth(&self) -> i64 {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Hashes a new password (PHC string).
    ///
    /// # Errors
    /// [`HashError::TooLong`], [`HashError::Busy`], [`HashError::Internal`].
    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        self.check_length(password)?;
        let argon = self.argon.clone();
        let params = self.params.clone();
        let password = password.clone();
        self.run(move || hash_on_pool(&argon, &params, password.expose()))
            .await?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no user,
    /// so both cases take the same time.
    ///
    /// # Errors
    /// [`HashError::TooLong`], [`HashError::Busy`], [`HashError::Internal`].
    pub async fn verify(
        &self,
        password: &Secret,
        stored: Option<&str>,
    ) -> Result<Verdict, HashError> {
        self.check_length(password)?;
        let slot = self.slot().await?;
        Ok(self.verify_in(slot, password, stored).await?.0)
    }

    /// A hashing slot, waited for up to the queue timeout: for a caller that must decide
    /// something once its turn has come and before the hash runs (the login throttle looks
    /// again, so a burst queued behind the first failures is refused, not hashed).
    ///
    /// # Errors
    /// [`HashError::Busy`].
    pub async fn slot(&self) -> Result<Slot, HashError> {
        use std::sync::atomic::Ordering;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let acquired =
            tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let permit = acquired
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        Ok(Slot { _permit: permit })
    }

    /// [`Self::verify`] in a slot taken with [`Self::slot`]; the slot comes back with the
    /// verdict, so that the caller gives it up once it has recorded the outcome (the
    /// login throttle's failures, which the attempts waiting for the slot look at).
    ///
    /// # Errors
    /// [`HashError::TooLong`], [`HashError::Internal`].
    pub async fn verify_in(
        &self,
        slot: Slot,
        password: &Secret,
        stored: Option<&str>,
    ) -> Result<(Verdict, Slot), HashError> {
        self.check_length(password)?;
        let real = stored.is_some();
        let phc = stored.unwrap_or(&self.dummy).to_owned();
        let wanted = self.params.clone();
        let bounds = self.bounds;
        let dummy = self.dummy.clone();
        let password = password.clone();
        self.run_in(slot, move || {
            // A hash that is never verified (unreadable, Django's unusable mark, above the
            // cost ceiling) costs the dummy's hash all the same: its timing must not tell.
            let dummy_work = |password: &[u8]| {
                if let Ok(hash) = PasswordHash::new(&dummy) {
                    let _ = argon2_memory::verify(password, &hash);
                }
            };
            // Always run a hash, then combine: an unknown user costs the same as a known one.
            let (verified, outdated) = match django_hash::parse(&phc, &bounds) {
                // Imported from Django: verified as it is, replaced on this login (unless
                // the hash does not cover the whole password: bcrypt's 72 bytes).
                Some(legacy) => (
                    legacy.verify(password.expose().as_bytes()),
                    legacy.covers(password.len()),
                ),
                None => match PasswordHash::new(&phc) {
                    // Beyond the cost bounds (imported before they existed): never hashed.
                    Ok(hash) if !hash_cost::argon2_ok(&hash, &bounds) => {
                        dummy_work(password.expose().as_bytes());
                        (false, false)
                    }
                    Ok(hash) => (
                        argon2_memory::verify(password.expose().as_bytes(), &hash),
                        is_weaker(&hash, &wanted),
                    ),
                    // Django's unusable password (`!…`) and anything unreadable.
                    Err(_) => {
                        dummy_work(password.expose().as_bytes());
                        (false, false)
                    }
                },
            };
            let matches = real && verified;
            Verdict {
                matches,
                needs_rehash: matches && outdated,
            }
        })
        .await
    }

    /// Whether `phc` is a hash this hasher can verify or keep (for imports): an Argon2 PHC
    /// string or a Django hash within the cost bounds (`hash_cost`), or Django's
    /// unusable-password mark (never matches).
    pub fn is_supported_hash(&self, phc: &str) -> bool {
        supported_hash(phc, &self.bounds)
    }

    fn check_length(&self, password: &Secret) -> Result<(), HashError> {
        if password.len() > self.max_length {
            Err(HashError::TooLong(self.max_length))
        } else {
            Ok(())
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let slot = self.slot().await?;
        Ok(self.run_in(slot, work).await?.0)
    }

    async fn run_in<T: Send + 'static>(
        &self,
        slot: Slot,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<(T, Slot), HashError> {
        // The slot goes with the work and comes back with its result: a caller that gives
        // up (its request timed out) does not free it while the thread is still hashing,
        // so the queue stays bounded; one that waits frees it when it is done.
        let result = self
            .pool
            .run(move || {
                let out = work();
                (out, slot)
            })
            .await;
        result.ok_or_else(|| HashError::Internal("a hashing thread failed".into()))
    }
}

/// A place on the hashing threads ([`PasswordHasher::slot`]); given back when dropped, or
/// when the work it was given to ends.
#[derive(Debug)]
pub struct Slot {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// Whether `phc` is a hash a server with Argon2 `bounds` can verify or keep: an Argon2 PHC
/// string or a Django hash within the cost ceiling (`hash_cost`), or Django's
/// unusable-password mark (never matches). Imports check every hash with it.
pub fn supported_hash(phc: &str, bounds: &hash_cost::Argon2Bounds) -> bool {
    (phc.len() <= hash_cost::MAX_ENCODED_BYTES
        && PasswordHash::new(phc).is_ok_and(|h| {
            h.algorithm.as_str().starts_with("argon2") && hash_cost::argon2_ok(&h, bounds)
        }))
        || django_hash::parse(phc, bounds).is_some()
        || django_hash::is_unusable(phc)
}

/// A new hash on a hashing thread, in that thread's kept memory.
fn hash_on_pool(argon: &Argon2<'_>, params: &Params, password: &str) -> Result<String, HashError> {
    let salt = new_salt()?;
    argon2_memory::hash(
        argon,
        Algorithm::Argon2id,
        Version::V0x13,
        params,
        password.as_bytes(),
        salt.as_salt(),
    )
    .map_err(internal)
}

fn new_salt() -> Result<SaltString, HashError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt)
        .map_err(|_| HashError::Internal("random generator failed".into()))?;
    SaltString::encode_b64(&salt).map_err(internal)
}

/// A hash made once at start (the dummy), in memory of its own that is given back.
fn hash_blocking(argon: &Argon2<'_>, password: &str) -> Result<String, HashError> {
    let salt = new_salt()?;
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(internal)?
        .to_string())
}

fn is_weaker(hash: &PasswordHash<'_>, wanted: &Params) -> bool {
    if hash.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() < wanted.m_cost()
                || p.t_cost() < wanted.t_cost()
                || p.p_cost() < wanted.p_cost()
        }
        Err(_) => true,
    }
}

/// The hashing threads' priority from `[passwords]`.
fn hash_priority(s: &PasswordSettings) -> hash_pool::Priority {
    if s.hash_sched_idle {
        hash_pool::Priority::Idle
    } else {
        hash_pool::Priority::Nice(s.hash_nice)
    }
}

fn internal(e: impl std::fmt::Display) -> HashError {
    HashError::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn hasher(slots: usize) -> PasswordHasher {
        let settings = PasswordSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent_hashes: slots,
            queue_timeout: Duration::from_millis(100),
            ..PasswordSettings::default()
        };
        PasswordHasher::new(&settings).unwrap()
    }

    #[tokio::test]
    async fn a_slot_is_held_until_its_thread_finishes_not_until_its_caller_gives_up() {
        let hasher = hasher(1);
        let (finish, finished) = mpsc::channel::<()>();
        // The caller gives up (its request timed out); its thread is still working.
        let gave_up = tokio::time::timeout(
            Duration::from_millis(50),
            hasher.run(move || finished.recv()),
        )
        .await;
        assert!(gave_up.is_err());
        let next = tokio::time::timeout(Duration::from_secs(5), hasher.run(|| ())).await;
        assert!(
            matches!(next, Ok(Err(HashError::Busy))),
            "the one slot is still taken: {next:?}"
        );
        finish.send(()).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while hasher.run(|| ()).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the slot never came back"
            );
        }
    }

    #[tokio::test]
    async fn a_hash_beyond_the_cost_bounds_is_never_hashed() {
        let hasher = hasher(1);
        let password = Secret::new(String::from("correct horse"));
        // 4 TiB of memory: verifying it would abort the process.
        let huge = "$argon2id$v=19$m=4294967295,t=1,p=1$M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8";
        let verdict = hasher.verify(&password, Some(huge)).await.unwrap();
        assert!(!verdict.matches && !verdict.needs_rehash);
        assert!(!hasher.is_supported_hash(huge));
        assert!(!hasher.is_supported_hash(
            "pbkdf2_sha256$2000000000$salt$sMgonSMZvEM72MECO/noq1Zc0BloA1bDzKMwM/fKDyc="
        ));
    }

    #[tokio::test]
    async fn a_bcrypt_hash_is_not_replaced_from_a_password_longer_than_it_covers() {
        let hasher = hasher(1);
        let real = "a".repeat(72);
        let stored = format!("bcrypt${}", bcrypt::hash(&real, 4).unwrap());
        let longer = Secret::new(format!("{real}-and-more"));
        let verdict = hasher.verify(&longer, Some(&stored)).await.unwrap();
        assert!(verdict.matches, "bcrypt reads 72 bytes");
        assert!(
            !verdict.needs_rehash,
            "a rehash would lock the real password out"
        );
        let verdict = hasher
            .verify(&Secret::new(real), Some(&stored))
            .await
            .unwrap();
        assert!(verdict.matches && verdict.needs_rehash);
    }
}
