//! Signing keys: stored sealed, staged (`next`), activated, retired and pruned.

use super::{Dialect, Engine, Statement as _};
use crate::store::*;

/// Signing key columns, in [`super::StoredKey`] order.
pub(in crate::store) const KEY_COLUMNS: &str =
    "kid, alg, state, created_at, activated_at, retire_after, sealed_private";

pub(super) async fn insert_key<DB: Dialect>(
    conn: &mut DB::Connection,
    k: &StoredKey,
) -> StoreResult<()> {
    DB::query(&format!(
        "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .arg(&k.kid)
    .arg(k.alg.as_str())
    .arg(k.state.as_str())
    .arg(k.created_at)
    .arg(k.activated_at)
    .arg(k.retire_after)
    .arg(&k.sealed_private)
    .run(&mut *conn)
    .await?;
    Ok(())
}

pub(super) fn key_from_row<DB: Dialect>(r: &DB::Row) -> StoreResult<StoredKey> {
    let state: String = DB::column(r, "state")?;
    Ok(StoredKey {
        kid: DB::column(r, "kid")?,
        alg: KeyAlg::parse(&DB::column::<String>(r, "alg")?),
        state: KeyState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("key state {state}")))?,
        created_at: DB::column(r, "created_at")?,
        activated_at: DB::column(r, "activated_at")?,
        retire_after: DB::column(r, "retire_after")?,
        sealed_private: DB::column(r, "sealed_private")?,
    })
}

pub(super) async fn signing_keys<DB: Dialect>(
    e: &impl Engine<Db = DB>,
) -> StoreResult<Vec<StoredKey>> {
    let rows = DB::query(&format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid"
    ))
    .rows(&mut *e.reader().await?)
    .await?;
    rows.iter().map(key_from_row::<DB>).collect()
}

pub(super) async fn delete_signing_key<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    kid: &str,
) -> StoreResult<bool> {
    let done = DB::query("DELETE FROM signing_keys WHERE kid = $1")
        .arg(kid)
        .run(&mut *e.write_conn().await?)
        .await?;
    Ok(done == 1)
}

pub(super) async fn prune_retired_keys<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    now: i64,
) -> StoreResult<u64> {
    let done = DB::query("DELETE FROM signing_keys WHERE state = 'retired' AND retire_after <= $1")
        .arg(now)
        .run(&mut *e.write_conn().await?)
        .await?;
    Ok(done)
}

pub(super) async fn insert_signing_key<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    k: &StoredKey,
) -> StoreResult<()> {
    insert_key::<DB>(&mut *e.write_conn().await?, k).await
}

pub(super) async fn activate_key<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    kid: &str,
    retire_after: i64,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    let alg: Option<String> = DB::query(&format!(
        "SELECT alg FROM signing_keys WHERE kid = $1 AND state = 'next'{}",
        DB::FOR_UPDATE
    ))
    .arg(kid)
    .optional_scalar(&mut *tx)
    .await?;
    let Some(alg) = alg else {
        return Ok(false);
    };
    DB::query(
        "UPDATE signing_keys SET state = 'retired', retire_after = $1 \
         WHERE alg = $2 AND state = 'active'",
    )
    .arg(retire_after)
    .arg(&alg)
    .run(&mut *tx)
    .await?;
    DB::query("UPDATE signing_keys SET state = 'active', activated_at = $1 WHERE kid = $2")
        .arg(now)
        .arg(kid)
        .run(&mut *tx)
        .await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(true)
}

pub(super) async fn reseal_keys<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    resealed: &[(String, Vec<u8>, Vec<u8>)],
    totp: &[(i64, Vec<u8>, Vec<u8>)],
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    for (user_id, old, new) in totp {
        let done =
            DB::query("UPDATE totp_secrets SET sealed = $1 WHERE user_id = $2 AND sealed = $3")
                .arg(new)
                .arg(user_id)
                .arg(old)
                .run(&mut *tx)
                .await?;
        if done != 1 {
            return Ok(false);
        }
    }
    for (kid, old, new) in resealed {
        let done = DB::query(
            "UPDATE signing_keys SET sealed_private = $1 \
             WHERE kid = $2 AND sealed_private = $3",
        )
        .arg(new)
        .arg(kid)
        .arg(old)
        .run(&mut *tx)
        .await?;
        if done != 1 {
            return Ok(false);
        }
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(true)
}
