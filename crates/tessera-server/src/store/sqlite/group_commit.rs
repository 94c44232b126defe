//! Group commit of refresh rotations on SQLite.
//!
//! With `synchronous=FULL` every commit waits for the disk (an fsync of the WAL), and
//! SQLite admits one writer at a time, so one transaction per rotation caps refreshes at
//! the disk's sync rate. Instead, rotations queue here and one task applies everything
//! queued in one transaction (see [`apply`]: two statements for a group in the common
//! case) and commits once; while that commit waits for the disk the next group gathers.
//!
//! What stays exactly as before:
//! - **Durability**: a caller is answered only after the commit holding its rotation
//!   returned, so every refresh token handed out is on disk.
//! - **Exactly once**: a token is consumed by the same conditional update as before
//!   (active, unexpired, of the claimed family), once; a group presenting one token twice
//!   is applied one rotation after the other, so the second presentation is a reuse and
//!   revokes the family.
//! - **Nothing half-written**: if any rotation of a group fails, the group is rolled back
//!   and each of its rotations runs again alone, in its own transaction, so one bad
//!   rotation costs the others nothing; if the commit fails, nothing of the group was
//!   written and every caller gets 503.
//! - **Bounded waiting**: a rotation not started within `acquire_timeout` of being asked
//!   is answered 503 and never applied (as a writer that did not get its turn was).

use super::{Writers, classify};
use crate::store::sql::REFRESH_COLUMNS;
use crate::store::sql::rotate_in;
use crate::store::{RefreshRecord, RotateOutcome, RowState, StoreError, StoreResult};
use sqlx::QueryBuilder;
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Rotations waiting at most (beyond it, callers wait to enqueue, within their deadline).
pub(super) const QUEUE: usize = 4096;
/// Rotations applied in one transaction at most.
const GROUP: usize = 256;

/// One queued rotation and where its outcome goes.
#[derive(Debug)]
pub(super) struct Rotation {
    old_jti: String,
    next: RefreshRecord,
    now: i64,
    /// Not applied if its group starts after this.
    deadline: Instant,
    reply: oneshot::Sender<StoreResult<RotateOutcome>>,
}

/// Queues a rotation and waits for its outcome.
pub(super) async fn submit(
    queue: &mpsc::Sender<Rotation>,
    patience: std::time::Duration,
    old_jti: &str,
    next: &RefreshRecord,
    now: i64,
) -> StoreResult<RotateOutcome> {
    let deadline = Instant::now() + patience;
    let (reply, outcome) = oneshot::channel();
    let rotation = Rotation {
        old_jti: old_jti.to_owned(),
        next: next.clone(),
        now,
        deadline,
        reply,
    };
    tokio::time::timeout_at(deadline, queue.send(rotation))
        .await
        .map_err(|_| timed_out())?
        .map_err(|_| stopped())?;
    // The task always answers (the deadline bounds how long a rotation may wait to
    // start), so this wait needs no timeout of its own.
    outcome.await.map_err(|_| stopped())?
}

/// The group-commit task: runs until every sender (every clone of the store) is gone.
pub(super) async fn run(writers: Writers, mut queue: mpsc::Receiver<Rotation>) {
    let mut group = Vec::with_capacity(GROUP);
    while queue.recv_many(&mut group, GROUP).await > 0 {
        commit_group(&writers, std::mem::take(&mut group)).await;
        group.reserve(GROUP);
    }
}

/// Applies `group` in one transaction and answers each rotation.
async fn commit_group(writers: &Writers, group: Vec<Rotation>) {
    let mut tx = match writers.begin().await {
        Ok(tx) => tx,
        Err(e) => return answer_all(group, &e),
    };
    let started = Instant::now();
    let outcomes = match apply(&mut tx, &group, started).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            tracing::warn!(error = %e, size = group.len(), "a rotation failed inside a group; running the group's rotations one by one");
            drop(tx); // rolls back
            return one_by_one(writers, group).await;
        }
    };
    if !outcomes.contains(&Some(RotateOutcome::Reused)) {
        // Rotations touch refresh rows only; a reuse also revokes access tokens.
        tx.leaves_cache_valid();
    }
    if let Err(e) = tx.commit().await {
        return answer_all(group, &classify(e));
    }
    for (r, outcome) in group.into_iter().zip(outcomes) {
        let _ = r.reply.send(outcome.ok_or_else(timed_out));
    }
}

/// The outcome of each rotation of `group` (`None`: not applied, its deadline had
/// passed), written on `conn`.
///
/// The common case, distinct tokens presented once each, takes two statements for the
/// whole group: one `UPDATE … FROM (VALUES …) RETURNING` consumes every token still
/// active (the same conditions as [`rotate_in`]'s), one multi-row `INSERT` stores their
/// successors. What was not consumed (reused, revoked, expired, unknown) then goes
/// through [`rotate_in`] one by one, which finds the row as it is and answers (revoking
/// the family of a reused token). A group presenting one token twice is applied one by
/// one throughout, so that the second presentation sees the first.
async fn apply(
    conn: &mut sqlx::SqliteConnection,
    group: &[Rotation],
    started: Instant,
) -> StoreResult<Vec<Option<RotateOutcome>>> {
    let live: Vec<&Rotation> = group.iter().filter(|r| r.deadline >= started).collect();
    let mut seen = HashSet::with_capacity(live.len());
    let consumed = if live.iter().all(|r| seen.insert(r.old_jti.as_str())) && !live.is_empty() {
        let consumed = consume(&mut *conn, &live).await?;
        let successors: Vec<&Rotation> = live
            .iter()
            .copied()
            .filter(|r| consumed.contains(&r.old_jti))
            .collect();
        store_successors(&mut *conn, &successors).await?;
        consumed
    } else {
        HashSet::new()
    };
    let mut outcomes = Vec::with_capacity(group.len());
    for r in group {
        outcomes.push(if r.deadline < started {
            None
        } else if consumed.contains(&r.old_jti) {
            Some(RotateOutcome::Rotated)
        } else {
            Some(rotate_in::<sqlx::Sqlite>(&mut *conn, &r.old_jti, &r.next, r.now).await?)
        });
    }
    Ok(outcomes)
}

/// Marks every presented token that is active, unexpired and of the claimed family as
/// rotated; returns the ones it marked.
async fn consume(
    conn: &mut sqlx::SqliteConnection,
    live: &[&Rotation],
) -> StoreResult<HashSet<String>> {
    let mut q = QueryBuilder::<sqlx::Sqlite>::new(
        "UPDATE refresh_tokens SET state = 'rotated', replaced_by = v.column2 FROM (",
    );
    q.push_values(live, |mut row, r| {
        row.push_bind(&r.old_jti)
            .push_bind(&r.next.jti)
            .push_bind(r.now)
            .push_bind(&r.next.family);
    });
    q.push(
        ") AS v WHERE refresh_tokens.jti = v.column1 AND refresh_tokens.state = 'active' \
         AND refresh_tokens.expires_at > v.column3 AND refresh_tokens.family = v.column4 \
         RETURNING jti",
    );
    let rows: Vec<String> = q
        .build_query_scalar()
        .fetch_all(&mut *conn)
        .await
        .map_err(classify)?;
    Ok(rows.into_iter().collect())
}

/// Stores the successors of the consumed tokens, active.
async fn store_successors(
    conn: &mut sqlx::SqliteConnection,
    rotated: &[&Rotation],
) -> StoreResult<()> {
    if rotated.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<sqlx::Sqlite>::new(format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) "
    ));
    q.push_values(rotated, |mut row, r| {
        let t = &r.next;
        row.push_bind(&t.jti)
            .push_bind(&t.family)
            .push_bind(t.user_id)
            .push_bind(&t.client_id)
            .push_bind(t.issued_at)
            .push_bind(t.expires_at)
            .push_bind(&t.access_jti)
            .push_bind(t.access_expires_at)
            .push_bind(&t.scope)
            .push_bind(RowState::Active.as_str())
            .push_bind(None::<String>);
    });
    q.build().execute(&mut *conn).await.map_err(classify)?;
    Ok(())
}

/// Each rotation of a failed group in its own transaction, so that it gets its own answer.
async fn one_by_one(writers: &Writers, group: Vec<Rotation>) {
    for r in group {
        let outcome = if r.deadline < Instant::now() {
            Err(timed_out())
        } else {
            alone(writers, &r).await
        };
        let _ = r.reply.send(outcome);
    }
}

async fn alone(writers: &Writers, r: &Rotation) -> StoreResult<RotateOutcome> {
    let mut tx = writers.begin().await?;
    let outcome = rotate_in::<sqlx::Sqlite>(&mut tx, &r.old_jti, &r.next, r.now).await?;
    if outcome != RotateOutcome::Reused {
        tx.leaves_cache_valid();
    }
    tx.commit().await.map_err(classify)?;
    Ok(outcome)
}

/// Answers every rotation of a group that was not written with `cause` (as 503).
fn answer_all(group: Vec<Rotation>, cause: &StoreError) {
    tracing::warn!(error = %cause, size = group.len(), "a group of refresh rotations was not committed");
    for r in group {
        let _ = r
            .reply
            .send(Err(unavailable(&format!("group commit failed: {cause}"))));
    }
}

fn unavailable(why: &str) -> StoreError {
    StoreError::Unavailable(sqlx::Error::Io(std::io::Error::other(why.to_owned())))
}

/// A rotation that could not start within its deadline (nothing was written).
fn timed_out() -> StoreError {
    StoreError::Unavailable(sqlx::Error::PoolTimedOut)
}

fn stopped() -> StoreError {
    unavailable("the refresh group-commit task has stopped")
}
