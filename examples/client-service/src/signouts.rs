//! Sign-outs heard from the authority (back-channel logout): for each user, the time of
//! their last sign-out there. A token of theirs issued no later than that is refused here,
//! though it has not expired: the service stops honouring a session the user ended,
//! instead of waiting out the access token's lifetime.
//!
//! Kept in the service's SQLite file (it survives a restart) and in memory (the check on
//! every request reads no database).

use sqlx::SqlitePool;
use std::collections::HashMap;
use std::sync::RwLock;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS signed_out (
    user_id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL
)";

/// Users' last sign-outs at the authority.
#[derive(Debug)]
pub struct SignOuts {
    pool: SqlitePool,
    known: RwLock<HashMap<i64, i64>>,
}

impl SignOuts {
    /// Reads the sign-outs recorded in `pool`'s database.
    ///
    /// # Errors
    /// A database error.
    pub async fn open(pool: SqlitePool) -> Result<Self, sqlx::Error> {
        sqlx::query(SCHEMA).execute(&pool).await?;
        let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT user_id, at FROM signed_out")
            .fetch_all(&pool)
            .await?;
        Ok(Self {
            pool,
            known: RwLock::new(rows.into_iter().collect()),
        })
    }

    /// Records that `user_id` signed out at the authority at `at` (a later record wins).
    ///
    /// # Errors
    /// A database error (then nothing changed: the authority will send it again).
    pub async fn record(&self, user_id: i64, at: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO signed_out (user_id, at) VALUES (?, ?) \
             ON CONFLICT (user_id) DO UPDATE SET at = max(at, excluded.at)",
        )
        .bind(user_id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        let mut known = self
            .known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = known.entry(user_id).or_insert(at);
        *entry = (*entry).max(at);
        Ok(())
    }

    /// Whether a token of `user_id` issued at `iat` predates their last sign-out.
    pub fn ended(&self, user_id: i64, iat: i64) -> bool {
        self.known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&user_id)
            .is_some_and(|at| iat <= *at)
    }
}
