//! Refresh-token families and revoked access tokens: rotation with reuse detection (the
//! exactly-once point), revocation by [`Families`], and simplejwt's legacy refresh tokens.

use super::retryable;
use super::{Dialect, Engine, Statement as _};
use crate::store::*;

/// Refresh token columns, in [`super::RefreshRow`] order.
pub(in crate::store) const REFRESH_COLUMNS: &str = "jti, family, user_id, client_id, issued_at, expires_at, \
     access_jti, access_expires_at, scope, state, replaced_by";

/// Which families to revoke.
#[derive(Debug, Clone, Copy)]
pub(in crate::store) enum Families<'a> {
    /// The family of this refresh token.
    FamilyOf(&'a str),
    /// Every family of this user.
    User(i64),
    /// Every family issued to this OAuth client.
    Client(&'a str),
    /// This family.
    Family(&'a str),
    /// The families a browser session's codes began (by `sid`).
    Session(&'a str),
}

impl Families<'_> {
    /// The `WHERE` condition selecting the scope's rows; its one parameter is `$1`.
    pub(in crate::store) fn filter(self) -> &'static str {
        match self {
            Self::FamilyOf(_) => "family = (SELECT family FROM refresh_tokens WHERE jti = $1)",
            Self::User(_) => "user_id = $1",
            Self::Client(_) => "client_id = $1",
            Self::Family(_) => "family = $1",
            Self::Session(_) => {
                "family IN (SELECT family FROM session_grants WHERE sid = $1 AND family IS NOT NULL)"
            }
        }
    }
}

/// Revokes every token of the families in `scope`, and blocks the unexpired access
/// tokens issued with them.
pub(super) async fn revoke_families<DB: Dialect>(
    conn: &mut DB::Connection,
    scope: Families<'_>,
    now: i64,
) -> StoreResult<()> {
    let filter = scope.filter();
    // Lock the rows first, in one order, so that concurrent revocations of one
    // family (many replicas seeing the same reused token) queue instead of
    // deadlocking. A no-op on SQLite, whose write transaction locks everything.
    let lock = format!(
        "SELECT jti FROM refresh_tokens WHERE {filter} ORDER BY jti{}",
        DB::FOR_UPDATE
    );
    match scope {
        Families::FamilyOf(jti)
        | Families::Client(jti)
        | Families::Family(jti)
        | Families::Session(jti) => DB::query(&lock).arg(jti).rows(&mut *conn).await,
        Families::User(id) => DB::query(&lock).arg(id).rows(&mut *conn).await,
    }?;
    let block = format!(
        "INSERT INTO revoked_access (jti, expires_at) \
         SELECT access_jti, access_expires_at FROM refresh_tokens \
         WHERE {filter} AND access_expires_at > $2 ON CONFLICT DO NOTHING"
    );
    let revoke = format!(
        "UPDATE refresh_tokens SET state = 'revoked' WHERE {filter} AND state <> 'revoked'"
    );
    match scope {
        Families::FamilyOf(jti)
        | Families::Client(jti)
        | Families::Family(jti)
        | Families::Session(jti) => DB::query(&block).arg(jti).arg(now).run(&mut *conn).await,
        Families::User(id) => DB::query(&block).arg(id).arg(now).run(&mut *conn).await,
    }?;
    match scope {
        Families::FamilyOf(jti)
        | Families::Client(jti)
        | Families::Family(jti)
        | Families::Session(jti) => DB::query(&revoke).arg(jti).run(&mut *conn).await,
        Families::User(id) => DB::query(&revoke).arg(id).run(&mut *conn).await,
    }?;
    Ok(())
}

pub(super) async fn insert_refresh_row<DB: Dialect>(
    conn: &mut DB::Connection,
    t: &RefreshRecord,
    state: RowState,
    replaced_by: Option<&str>,
) -> StoreResult<()> {
    DB::query(&format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .arg(&t.jti)
    .arg(&t.family)
    .arg(t.user_id)
    .arg(&t.client_id)
    .arg(t.issued_at)
    .arg(t.expires_at)
    .arg(&t.access_jti)
    .arg(t.access_expires_at)
    .arg(&t.scope)
    .arg(state.as_str())
    .arg(replaced_by)
    .run(&mut *conn)
    .await?;
    Ok(())
}

pub(super) fn refresh_from_row<DB: Dialect>(r: &DB::Row) -> StoreResult<RefreshRow> {
    let state: String = DB::column(r, "state")?;
    Ok(RefreshRow {
        record: RefreshRecord {
            jti: DB::column(r, "jti")?,
            family: DB::column(r, "family")?,
            user_id: DB::column(r, "user_id")?,
            client_id: DB::column(r, "client_id")?,
            issued_at: DB::column(r, "issued_at")?,
            expires_at: DB::column(r, "expires_at")?,
            access_jti: DB::column(r, "access_jti")?,
            access_expires_at: DB::column(r, "access_expires_at")?,
            scope: DB::column(r, "scope")?,
        },
        state: RowState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("refresh state {state}")))?,
        replaced_by: DB::column(r, "replaced_by")?,
    })
}

/// Reads a refresh row's state and expiry.
pub(super) async fn row_state<DB: Dialect>(
    conn: &mut DB::Connection,
    jti: &str,
) -> StoreResult<Option<(RowState, i64)>> {
    let row = DB::query("SELECT state, expires_at FROM refresh_tokens WHERE jti = $1")
        .arg(jti)
        .row(&mut *conn)
        .await?;
    row.map(|r| {
        let state: String = DB::column(&r, "state")?;
        let expires: i64 = DB::column(&r, "expires_at")?;
        RowState::parse(&state)
            .map(|s| (s, expires))
            .ok_or_else(|| StoreError::Corrupt(format!("refresh state {state}")))
    })
    .transpose()
}

/// Consumes `old_jti` and stores `next` on `conn`, inside a write transaction the
/// caller commits. The conditional update is the exactly-once point: of concurrent
/// callers, one changes the row; the others (on PostgreSQL, after waiting for its
/// lock; on SQLite, after the writer before them committed) see it rotated and
/// change nothing but the family's revocation.
pub(in crate::store) async fn rotate_in<DB: Dialect>(
    conn: &mut DB::Connection,
    old_jti: &str,
    next: &RefreshRecord,
    now: i64,
) -> StoreResult<RotateOutcome> {
    let consumed = DB::query(
        "UPDATE refresh_tokens SET state = 'rotated', replaced_by = $1 \
         WHERE jti = $2 AND state = 'active' AND expires_at > $3 AND family = $4",
    )
    .arg(&next.jti)
    .arg(old_jti)
    .arg(now)
    .arg(&next.family)
    .run(&mut *conn)
    .await?;
    if consumed == 1 {
        insert_refresh_row::<DB>(&mut *conn, next, RowState::Active, None).await?;
        return Ok(RotateOutcome::Rotated);
    }
    Ok(match row_state::<DB>(&mut *conn, old_jti).await? {
        None => RotateOutcome::NotFound,
        Some((RowState::Rotated, _)) => {
            revoke_families::<DB>(&mut *conn, Families::FamilyOf(old_jti), now).await?;
            RotateOutcome::Reused
        }
        Some((RowState::Revoked, _)) => RotateOutcome::Revoked,
        Some((RowState::Active, expires)) if expires <= now => RotateOutcome::Expired,
        // Active and unexpired but another family: a forged claim; unknown.
        Some((RowState::Active, _)) => RotateOutcome::NotFound,
    })
}

/// One attempt of [`Store::revoke_family_of`].
pub(super) async fn revoke_once<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    jti: &str,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    let known = row_state::<DB>(&mut tx, jti).await?.is_some();
    if known {
        revoke_families::<DB>(&mut tx, Families::FamilyOf(jti), now).await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(known)
}

pub(super) async fn use_legacy_refresh<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    jti: &str,
    expires_at: i64,
) -> StoreResult<bool> {
    let done = DB::query(
        "INSERT INTO legacy_refresh_used (jti, expires_at) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .arg(jti)
    .arg(expires_at)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(done == 1)
}

pub(super) async fn insert_refresh<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    t: &RefreshRecord,
) -> StoreResult<()> {
    insert_refresh_row::<DB>(
        &mut *e.write_conn_leaving_cache().await?,
        t,
        RowState::Active,
        None,
    )
    .await
}

pub(super) async fn refresh_state<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    jti: &str,
    now: i64,
) -> StoreResult<Option<RefreshState>> {
    let mut conn = e.pool().acquire().await.map_err(DB::classify)?;
    Ok(row_state::<DB>(&mut conn, jti)
        .await?
        .map(|(state, expires)| match state {
            RowState::Rotated => RefreshState::Rotated,
            RowState::Revoked => RefreshState::Revoked,
            RowState::Active if expires <= now => RefreshState::Expired,
            RowState::Active => RefreshState::Active,
        }))
}

pub(super) async fn revoke_family_of<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    jti: &str,
    now: i64,
) -> StoreResult<bool> {
    let mut attempt = 0;
    loop {
        match revoke_once(e, jti, now).await {
            Err(e) if attempt < 3 && retryable(&e) => attempt += 1,
            other => return other,
        }
    }
}

pub(super) async fn is_access_revoked<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    jti: &str,
) -> StoreResult<bool> {
    let load = async {
        let row = DB::query("SELECT 1 FROM revoked_access WHERE jti = $1")
            .arg(jti)
            .row(&mut *e.reader().await?)
            .await?;
        Ok(row.is_some())
    };
    match e.read_cache() {
        Some(cache) => cache.through(|c| &c.revoked, jti.to_owned(), load).await,
        None => load.await,
    }
}

pub(super) async fn revoke_access<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    jti: &str,
    expires_at: i64,
) -> StoreResult<()> {
    DB::query(
        "INSERT INTO revoked_access (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .arg(jti)
    .arg(expires_at)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(())
}

pub(super) async fn user_families<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    now: i64,
) -> StoreResult<Vec<LiveFamily>> {
    DB::query(
        "SELECT family, client_id, issued_at, expires_at FROM refresh_tokens \
         WHERE user_id = $1 AND state = 'active' AND expires_at > $2 \
         ORDER BY issued_at DESC",
    )
    .arg(user_id)
    .arg(now)
    .all::<LiveFamily>(&mut *e.reader().await?)
    .await
}
