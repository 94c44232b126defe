//! Browser SSO sessions and consents. Ending a session, or every session of a user, queues a
//! back-channel logout for each client that got tokens through it and revokes what it gave.

use super::refresh::Families;
use super::{Dialect, Engine, Statement as _, Value, refresh};
use crate::store::*;

/// Every refresh family of the user revoked (with its access tokens), every SSO
/// browser session ended, every unredeemed code voided, and the user's session
/// epoch moved on, so that a token of any kind issued before is refused.
pub(super) async fn end_all_sessions<DB: Dialect>(
    conn: &mut DB::Connection,
    id: i64,
    now: i64,
) -> StoreResult<()> {
    refresh::revoke_families::<DB>(&mut *conn, Families::User(id), now).await?;
    // The live sessions locked first (PostgreSQL), so that two endings at once
    // queue each logout once: the second waits, then finds them ended.
    DB::query(&format!(
        "SELECT sid FROM sessions WHERE user_id = $1 AND NOT ended ORDER BY sid{}",
        DB::FOR_UPDATE
    ))
    .arg(id)
    .rows(&mut *conn)
    .await?;
    queue_logouts::<DB, _>(&mut *conn, "sc.user_id = $1", id, now).await?;
    for statement in [
        "UPDATE sessions SET ended = TRUE WHERE user_id = $1 AND NOT ended",
        "DELETE FROM auth_codes WHERE user_id = $1 AND used_at IS NULL",
        "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1",
    ] {
        DB::query(statement).arg(id).run(&mut *conn).await?;
    }
    Ok(())
}

/// Queues a back-channel logout for every client that got tokens through a live
/// session matching `filter` (on `session_clients sc` and `sessions s`, with the
/// value bound as `$1`), and forgets those sessions' clients: each client hears
/// of a session's end once.
pub(super) async fn queue_logouts<DB: Dialect, V>(
    conn: &mut DB::Connection,
    filter: &str,
    value: V,
    now: i64,
) -> StoreResult<()>
where
    V: for<'q> Value<'q> + Clone,
{
    DB::query(&format!(
        "INSERT INTO logout_deliveries (client_id, uri, sub, sid, created_at, next_attempt_at) \
         SELECT c.client_id, c.backchannel_logout_uri, CAST(sc.user_id AS TEXT), sc.sid, $2, $2 \
         FROM session_clients sc JOIN clients c ON c.client_id = sc.client_id \
         JOIN sessions s ON s.sid = sc.sid \
         WHERE {filter} AND c.backchannel_logout_uri IS NOT NULL \
         AND NOT s.ended AND s.expires_at > $2"
    ))
    .arg(value.clone())
    .arg(now)
    .run(&mut *conn)
    .await?;
    DB::query(&format!(
        "DELETE FROM session_clients WHERE sid IN \
         (SELECT sc.sid FROM session_clients sc JOIN sessions s ON s.sid = sc.sid WHERE {filter})"
    ))
    .arg(value)
    .run(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn end_user_sessions<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
    now: i64,
) -> StoreResult<()> {
    let mut tx = e.begin_write().await?;
    end_all_sessions::<DB>(&mut tx, id, now).await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(())
}

pub(super) async fn create_session<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    x: &Session,
) -> StoreResult<()> {
    DB::query(
        "INSERT INTO sessions (token_hash, sid, user_id, auth_time, expires_at, session_epoch, \
         methods) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .arg(&x.token_hash)
    .arg(&x.sid)
    .arg(x.user_id)
    .arg(x.auth_time)
    .arg(x.expires_at)
    .arg(x.session_epoch)
    .arg(&x.methods)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(())
}

pub(super) async fn session<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    token_hash: &str,
    now: i64,
) -> StoreResult<Option<Session>> {
    DB::query(
        "SELECT token_hash, sid, user_id, auth_time, expires_at, session_epoch, methods FROM sessions \
         WHERE token_hash = $1 AND NOT ended AND expires_at > $2",
    )
    .arg(token_hash)
    .arg(now)
    .optional::<Session>(&mut *e.reader().await?)
    .await
}

pub(super) async fn user_sessions<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    now: i64,
) -> StoreResult<Vec<Session>> {
    DB::query(
        "SELECT token_hash, sid, user_id, auth_time, expires_at, session_epoch, methods FROM sessions \
         WHERE user_id = $1 AND NOT ended AND expires_at > $2 ORDER BY auth_time DESC",
    )
    .arg(user_id)
    .arg(now)
    .all::<Session>(&mut *e.reader().await?)
    .await
}

pub(super) async fn end_session<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    token_hash: &str,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    // Locked first (PostgreSQL): a second ending at once waits, then finds it
    // ended and queues nothing.
    let sid: Option<String> = DB::query(&format!(
        "SELECT sid FROM sessions WHERE token_hash = $1 AND NOT ended{}",
        DB::FOR_UPDATE
    ))
    .arg(token_hash)
    .optional_scalar(&mut *tx)
    .await?;
    let Some(sid) = sid else {
        return Ok(false);
    };
    queue_logouts::<DB, _>(&mut tx, "s.sid = $1", sid.clone(), now).await?;
    // What the session's codes gave ends with it (Back-Channel Logout §2.7),
    // and its codes not yet redeemed are void.
    refresh::revoke_families::<DB>(&mut tx, Families::Session(&sid), now).await?;
    DB::query(
        "INSERT INTO revoked_access (jti, expires_at) \
         SELECT access_jti, access_expires_at FROM session_grants \
         WHERE sid = $1 AND access_expires_at > $2 ON CONFLICT DO NOTHING",
    )
    .arg(&sid)
    .arg(now)
    .run(&mut *tx)
    .await?;
    for statement in [
        "DELETE FROM auth_codes WHERE sid = $1 AND used_at IS NULL",
        "UPDATE sessions SET ended = TRUE WHERE sid = $1",
    ] {
        DB::query(statement).arg(&sid).run(&mut *tx).await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(true)
}

pub(super) async fn session_frontchannel_uris<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    token_hash: &str,
) -> StoreResult<Vec<(String, String)>> {
    DB::query(
        "SELECT c.frontchannel_logout_uri, s.sid FROM sessions s \
         JOIN session_clients sc ON sc.sid = s.sid \
         JOIN clients c ON c.client_id = sc.client_id \
         WHERE s.token_hash = $1 AND NOT s.ended AND c.frontchannel_logout_uri IS NOT NULL \
         ORDER BY c.client_id",
    )
    .arg(token_hash)
    .all::<(String, String)>(&mut *e.reader().await?)
    .await
}

pub(super) async fn consent<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    client_id: &str,
) -> StoreResult<Option<String>> {
    DB::query("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
        .arg(user_id)
        .arg(client_id)
        .optional_scalar(&mut *e.reader().await?)
        .await
}

pub(super) async fn grant_consent<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    client_id: &str,
    scope: &str,
    now: i64,
) -> StoreResult<()> {
    DB::query(
        "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, \
         granted_at = excluded.granted_at",
    )
    .arg(user_id)
    .arg(client_id)
    .arg(scope)
    .arg(now)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(())
}

/// A step-up: the live session `old_hash` names gets a new cookie (`new_hash`), the
/// methods now used and the time of this authentication; its `sid` stays.
pub(super) async fn upgrade_session<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    old_hash: &str,
    new_hash: &str,
    methods: &str,
    auth_time: i64,
) -> StoreResult<bool> {
    let n = DB::query(
        "UPDATE sessions SET token_hash = $2, methods = $3, auth_time = $4 \
         WHERE token_hash = $1 AND NOT ended",
    )
    .arg(old_hash)
    .arg(new_hash)
    .arg(methods)
    .arg(auth_time)
    .run(&mut *e.write_conn_leaving_cache().await?)
    .await?;
    Ok(n == 1)
}
