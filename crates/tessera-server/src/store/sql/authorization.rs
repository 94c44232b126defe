//! What the authorization endpoint keeps between requests: authorization codes (redeemed
//! exactly once; a replay revokes what the first redemption gave) and pushed authorization
//! requests (RFC 9126).

use super::refresh::Families;
use super::{Dialect, Engine, Statement as _, refresh};
use crate::store::*;

pub(super) async fn insert_pushed_request<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    uri_hash: &str,
    client_id: &str,
    params: &str,
    expires_at: i64,
) -> StoreResult<()> {
    DB::query(
        "INSERT INTO pushed_requests (uri_hash, client_id, params, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .arg(uri_hash)
    .arg(client_id)
    .arg(params)
    .arg(expires_at)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(())
}

pub(super) async fn count_pushed_requests<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    client_id: &str,
    now: i64,
) -> StoreResult<i64> {
    DB::query("SELECT count(*) FROM pushed_requests WHERE client_id = $1 AND expires_at > $2")
        .arg(client_id)
        .arg(now)
        .scalar(&mut *e.reader().await?)
        .await
}

pub(super) async fn take_pushed_request<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    uri_hash: &str,
    now: i64,
) -> StoreResult<Option<(String, String)>> {
    let mut tx = e.begin_write().await?;
    let found: Option<(String, String, i64)> = DB::query(
        "DELETE FROM pushed_requests WHERE uri_hash = $1 \
         RETURNING client_id, params, expires_at",
    )
    .arg(uri_hash)
    .optional(&mut *tx)
    .await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(found
        .filter(|(_, _, expires_at)| *expires_at > now)
        .map(|(client, params, _)| (client, params)))
}

pub(super) async fn insert_code<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    c: &AuthCode,
) -> StoreResult<()> {
    DB::query(
        "INSERT INTO auth_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, \
         code_challenge, sid, auth_time, expires_at, session_epoch, methods) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .arg(&c.code_hash)
    .arg(&c.client_id)
    .arg(c.user_id)
    .arg(&c.redirect_uri)
    .arg(&c.scope)
    .arg(&c.nonce)
    .arg(&c.code_challenge)
    .arg(&c.sid)
    .arg(c.auth_time)
    .arg(c.expires_at)
    .arg(c.session_epoch)
    .arg(&c.methods)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(())
}

pub(super) async fn redeem_code<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    code_hash: &str,
    now: i64,
) -> StoreResult<Redemption> {
    let mut tx = e.begin_write().await?;
    // The exactly-once point, as for refresh tokens.
    let consumed = DB::query(
        "UPDATE auth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
         AND expires_at > $1 \
         AND EXISTS (SELECT 1 FROM sessions s WHERE s.sid = auth_codes.sid AND NOT s.ended) \
         RETURNING code_hash, client_id, user_id, redirect_uri, scope, \
         nonce, code_challenge, sid, auth_time, expires_at, session_epoch, methods",
    )
    .arg(now)
    .arg(code_hash)
    .optional::<AuthCode>(&mut *tx)
    .await?;
    if let Some(code) = consumed {
        // The client takes part in the code's session from now on: it hears of
        // the session's end (back-channel logout).
        DB::query(
            "INSERT INTO session_clients (sid, client_id, user_id) \
             SELECT sid, $2, user_id FROM sessions WHERE sid = $1 \
             ON CONFLICT DO NOTHING",
        )
        .arg(&code.sid)
        .arg(&code.client_id)
        .run(&mut *tx)
        .await?;
        tx.commit().await.map_err(DB::classify)?;
        return Ok(Redemption::Valid(code));
    }
    let row = DB::query(
        "SELECT used_at, family, access_jti, access_expires_at FROM auth_codes WHERE code_hash = $1",
    )
    .arg(code_hash)
    .row(&mut *tx)
.await?;
    let outcome = match row {
        None => Redemption::Unknown,
        Some(r) => {
            let used: Option<i64> = DB::column(&r, "used_at")?;
            if used.is_none() {
                Redemption::Expired
            } else {
                let family: Option<String> = DB::column(&r, "family")?;
                let jti: Option<String> = DB::column(&r, "access_jti")?;
                let exp: Option<i64> = DB::column(&r, "access_expires_at")?;
                if let Some(family) = family.as_deref() {
                    refresh::revoke_families::<DB>(&mut tx, Families::Family(family), now).await?;
                }
                if let (Some(jti), Some(exp)) = (jti, exp) {
                    DB::query(
                        "INSERT INTO revoked_access (jti, expires_at) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .arg(jti)
                    .arg(exp)
                    .run(&mut *tx)
                    .await?;
                }
                Redemption::Reused
            }
        }
    };
    tx.commit().await.map_err(DB::classify)?;
    Ok(outcome)
}

pub(super) async fn record_code_tokens<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    code_hash: &str,
    family: Option<&str>,
    access_jti: &str,
    access_expires_at: i64,
) -> StoreResult<()> {
    let mut tx = e.begin_write().await?;
    DB::query(
        "UPDATE auth_codes SET family = $1, access_jti = $2, access_expires_at = $3 \
         WHERE code_hash = $4",
    )
    .arg(family)
    .arg(access_jti)
    .arg(access_expires_at)
    .arg(code_hash)
    .run(&mut *tx)
    .await?;
    // The session's grants: revoked when it ends. A session that ended between
    // the redemption and now takes them with it at once.
    DB::query(
        "INSERT INTO session_grants (sid, access_jti, access_expires_at, family) \
         SELECT a.sid, $1, $2, $3 FROM auth_codes a JOIN sessions s ON s.sid = a.sid \
         WHERE a.code_hash = $4 ON CONFLICT DO NOTHING",
    )
    .arg(access_jti)
    .arg(access_expires_at)
    .arg(family)
    .arg(code_hash)
    .run(&mut *tx)
    .await?;
    let ended: Option<bool> = DB::query(
        "SELECT s.ended FROM auth_codes a JOIN sessions s ON s.sid = a.sid \
         WHERE a.code_hash = $1",
    )
    .arg(code_hash)
    .optional_scalar(&mut *tx)
    .await?;
    if ended != Some(false) {
        // (0: every access token of the family is blocked, expired or not.)
        if let Some(family) = family {
            refresh::revoke_families::<DB>(&mut tx, Families::Family(family), 0).await?;
        }
        DB::query(
            "INSERT INTO revoked_access (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .arg(access_jti)
        .arg(access_expires_at)
        .run(&mut *tx)
        .await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(())
}
