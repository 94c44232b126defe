//! The SQLite store's memory of its hottest reads: users by id, clients by id and whether
//! an access token is revoked, the three lookups behind every verification,
//! introspection and refresh.
//!
//! Correctness rests on one generation counter:
//! - every write of this process bumps it when it has committed (the writer's turn, held
//!   by every write transaction and connection, bumps it as it is released);
//! - a read notes the generation *before* it asks the database and keeps its answer only
//!   while the generation is unchanged, so an answer that may predate a commit is never
//!   served after it;
//! - changes by other connections (the CLI on the same file, sqlite3) to the cached
//!   tables are seen by polling, every [`POLL`] on a connection of its own, `PRAGMA
//!   data_version` (anything committed?) and then `cache_epoch`, which triggers on users,
//!   clients and revoked_access increment in the changing transaction (migration 0012);
//!   a change there bumps the generation too: a `tessera user disable` reaches a running
//!   server's answers within that interval, and writes to other tables (refresh tokens,
//!   audit events, login counters) leave the cache alone.
//!
//! A write that changes one user's `last_login` only (every login) forgets that user
//! alone ([`Memo::forget`]), under the same rule: a read begun before the forget is not
//! kept after it.
//!
//! Each map is bounded ([`CAPACITY`]); when full it is emptied rather than evicted entry
//! by entry. PostgreSQL has no such cache: its replicas write without telling each other.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Entries per map at most.
pub const CAPACITY: usize = 65_536;
/// How often writes by other processes are looked for.
pub const POLL: Duration = Duration::from_millis(100);

/// The generation all cached answers are checked against.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    /// The current generation, to note before reading the database.
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Makes every cached answer stale (after a write has committed).
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// One map of cached answers, valid for one generation.
#[derive(Debug)]
pub struct Memo<K, V> {
    entries: Mutex<(u64, HashMap<K, V>)>,
    /// Entries forgotten one at a time so far ([`Memo::forget`]); changed only under the
    /// lock, so a read that began before a forget is not kept after it.
    forgets: AtomicU64,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new((0, HashMap::new())),
            forgets: AtomicU64::new(0),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// The answer cached for `key` in generation `now`.
    pub fn get(&self, now: u64, key: &K) -> Option<V> {
        let mut entries = self.lock();
        Self::refresh(&mut entries, now);
        entries.1.get(key).cloned()
    }

    /// How many entries were forgotten one at a time: noted, like the generation, before
    /// a read of the database, and given back to [`Memo::put`].
    pub fn forgets(&self) -> u64 {
        self.forgets.load(Ordering::Acquire)
    }

    /// Forgets `key` alone, after a committed write that changed only its row (a login's
    /// `last_login`): the rest of the cache stays valid.
    pub fn forget(&self, key: &K) {
        let mut entries = self.lock();
        self.forgets.fetch_add(1, Ordering::AcqRel);
        entries.1.remove(key);
    }

    /// Keeps `value`, read from the database in generation `read_in` after `forgets`
    /// single forgets, if the generation is still `read_in` (`now`) and nothing was
    /// forgotten since.
    pub fn put(&self, read_in: u64, now: u64, forgets: u64, key: K, value: V) {
        if read_in != now {
            return;
        }
        let mut entries = self.lock();
        if self.forgets.load(Ordering::Acquire) != forgets {
            return;
        }
        Self::refresh(&mut entries, now);
        if entries.1.len() >= CAPACITY {
            entries.1.clear();
        }
        entries.1.insert(key, value);
    }

    fn refresh(entries: &mut (u64, HashMap<K, V>), now: u64) {
        if entries.0 != now {
            entries.1.clear();
            entries.0 = now;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, HashMap<K, V>)> {
        // A panic while holding the lock leaves at worst a cleared or partial map of
        // answers that were all valid: keep using it.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The cached reads.
#[derive(Debug, Default)]
pub struct ReadCache {
    pub generation: Generation,
    pub users: Memo<i64, Option<super::User>>,
    pub clients: Memo<String, Option<super::Client>>,
    pub revoked: Memo<String, bool>,
}

impl ReadCache {
    /// `load()`'s answer, from memory when this generation already read it.
    pub async fn through<K, V, F>(
        &self,
        memo: impl Fn(&Self) -> &Memo<K, V>,
        key: K,
        load: F,
    ) -> super::StoreResult<V>
    where
        K: Eq + Hash,
        V: Clone,
        F: std::future::Future<Output = super::StoreResult<V>>,
    {
        let read_in = self.generation.current();
        let forgets = memo(self).forgets();
        if let Some(v) = memo(self).get(read_in, &key) {
            return Ok(v);
        }
        let v = load.await?;
        memo(self).put(read_in, self.generation.current(), forgets, key, v.clone());
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_read_before_a_write_is_not_kept() {
        let g = Generation::default();
        let m: Memo<i64, &str> = Memo::default();
        let read_in = g.current();
        g.bump(); // a write commits while the read is under way
        m.put(read_in, g.current(), 0, 1, "old");
        assert_eq!(m.get(g.current(), &1), None);
    }

    #[test]
    fn a_write_makes_every_answer_stale() {
        let g = Generation::default();
        let m: Memo<i64, &str> = Memo::default();
        m.put(g.current(), g.current(), 0, 1, "a");
        assert_eq!(m.get(g.current(), &1), Some("a"));
        g.bump();
        assert_eq!(m.get(g.current(), &1), None);
    }

    #[test]
    fn a_forget_drops_one_answer_and_any_read_begun_before_it() {
        let m: Memo<i64, &str> = Memo::default();
        m.put(0, 0, m.forgets(), 1, "a");
        m.put(0, 0, m.forgets(), 2, "b");
        let before = m.forgets();
        m.forget(&1); // a write to user 1 commits while a read of it is under way
        assert_eq!(m.get(0, &1), None);
        assert_eq!(m.get(0, &2), Some("b"), "the other answers stay");
        m.put(0, 0, before, 1, "old");
        assert_eq!(m.get(0, &1), None, "read before the forget: not kept");
        m.put(0, 0, m.forgets(), 1, "new");
        assert_eq!(m.get(0, &1), Some("new"));
    }

    #[test]
    fn a_full_map_starts_again() {
        let m: Memo<usize, ()> = Memo::default();
        for k in 0..=CAPACITY {
            m.put(0, 0, 0, k, ());
        }
        assert_eq!(m.get(0, &CAPACITY), Some(()));
        assert_eq!(m.get(0, &0), None);
    }
}
