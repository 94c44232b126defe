//! The login throttle's failure counters (when it keeps them in the database).

use super::{Dialect, Engine, Statement as _};
use crate::store::*;

pub(super) async fn login_failures<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    keys: &[String],
    since: i64,
) -> StoreResult<Vec<(String, i64, i64)>> {
    let mut found = Vec::new();
    for key in keys {
        let row: Option<(String, i64, i64)> = DB::query(
            "SELECT key, failures, last_failure FROM login_failures \
             WHERE key = $1 AND last_failure >= $2",
        )
        .arg(key)
        .arg(since)
        .optional(&mut *e.reader().await?)
        .await?;
        found.extend(row);
    }
    Ok(found)
}

pub(super) async fn record_login_failure<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    keys: &[String],
    now: i64,
    window_start: i64,
) -> StoreResult<()> {
    let mut conn = e.write_conn_leaving_cache().await?;
    for key in keys {
        DB::query(
            "INSERT INTO login_failures (key, failures, last_failure) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN login_failures.last_failure < $3 THEN 1 \
                             ELSE login_failures.failures + 1 END, \
             last_failure = $2",
        )
        .arg(key)
        .arg(now)
        .arg(window_start)
        .run(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn clear_login_failures<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    key: &str,
) -> StoreResult<()> {
    DB::query("DELETE FROM login_failures WHERE key = $1")
        .arg(key)
        .run(&mut *e.write_conn_leaving_cache().await?)
        .await?;
    Ok(())
}
