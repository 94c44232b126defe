//! Login-throttle counters in Redis (`[throttle] redis_url`), for deployments whose
//! replicas share Redis rather than (or besides) one database. Each counter is a hash
//! `<prefix><key>` with `n` (failures in the window) and `last` (Unix seconds), updated by
//! one Lua script (atomic across replicas) and expiring with the window.
//!
//! When Redis cannot be reached the throttle fails open (logged): logins keep working and
//! Argon2id still bounds their rate; refusing every login while Redis is down would turn
//! an outage of a helper into an outage of the authority.

use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use std::time::Duration;

/// How long one throttle operation may wait for Redis before failing open.
const TIMEOUT: Duration = Duration::from_secs(1);
/// After a failure, Redis is not asked again for this long (every login would otherwise
/// wait for the timeout while it is down).
const BACK_OFF: Duration = Duration::from_secs(5);

fn unavailable(why: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, why))
}

const RECORD: &str = r"
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if last < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'n', 1, 'last', ARGV[1])
else
  redis.call('HINCRBY', KEYS[1], 'n', 1)
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
";

/// The counters in Redis.
#[derive(Clone)]
pub struct RedisCounters {
    conn: ConnectionManager,
    prefix: String,
    script: redis::Script,
    /// Until when Redis is considered down (after a failure).
    down_until: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection's URL may hold a password.
        f.debug_struct("RedisCounters")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCounters {
    /// Connects (once; the manager reconnects by itself afterwards).
    ///
    /// # Errors
    /// Redis is unreachable or the URL is invalid.
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let mut conn = ConnectionManager::new(client).await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            script: redis::Script::new(RECORD),
            down_until: std::sync::Arc::default(),
        })
    }

    /// `work` within [`TIMEOUT`], unless Redis failed less than [`BACK_OFF`] ago; a failure
    /// starts a new back-off.
    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> redis::RedisResult<T> {
        let now = std::time::Instant::now();
        let down = self
            .down_until
            .lock()
            .map(|d| d.is_some_and(|until| now < until))
            .unwrap_or(false);
        if down {
            return Err(unavailable("Redis failed recently"));
        }
        let result = tokio::time::timeout(TIMEOUT, work)
            .await
            .unwrap_or_else(|_| Err(unavailable("Redis did not answer in time")));
        if result.is_err()
            && let Ok(mut d) = self.down_until.lock()
        {
            *d = Some(std::time::Instant::now() + BACK_OFF);
        }
        result
    }

    /// `(key, failures, last)` of the `keys` whose last failure is at or after `since`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn get(
        &self,
        keys: &[String],
        since: i64,
    ) -> redis::RedisResult<Vec<(String, i64, i64)>> {
        self.bounded(self.get_unbounded(keys, since)).await
    }

    async fn get_unbounded(
        &self,
        keys: &[String],
        since: i64,
    ) -> redis::RedisResult<Vec<(String, i64, i64)>> {
        let mut conn = self.conn.clone();
        let mut found = Vec::new();
        for key in keys {
            let (n, last): (Option<i64>, Option<i64>) = conn
                .hget(format!("{}{key}", self.prefix), &["n", "last"])
                .await?;
            if let (Some(n), Some(last)) = (n, last)
                && last >= since
            {
                found.push((key.clone(), n, last));
            }
        }
        Ok(found)
    }

    /// Counts a failure of each key at `now`; a counter idle since before `window_start`
    /// starts again at one. Counters expire `ttl` seconds after their last failure.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn record(
        &self,
        keys: &[String],
        now: i64,
        window_start: i64,
        ttl: i64,
    ) -> redis::RedisResult<()> {
        self.bounded(self.record_unbounded(keys, now, window_start, ttl))
            .await
    }

    async fn record_unbounded(
        &self,
        keys: &[String],
        now: i64,
        window_start: i64,
        ttl: i64,
    ) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        for key in keys {
            let _: i64 = self
                .script
                .key(format!("{}{key}", self.prefix))
                .arg(now)
                .arg(window_start)
                .arg(ttl.max(1))
                .invoke_async(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// Forgets `key`.
    ///
    /// # Errors
    /// Redis failed.
    pub async fn clear(&self, key: &str) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let key = format!("{}{key}", self.prefix);
        self.bounded(async move { conn.del::<_, i64>(key).await.map(|_| ()) })
            .await
    }
}
