//! Second factors (TOTP secrets, recovery codes) and the sign-ins waiting for one
//! (`mfa_tickets`). Every use of a code is one conditional statement, so a code is
//! accepted once even when two requests bring it at the same moment.

use super::{Dialect, Engine, Statement as _, sessions};
use crate::store::*;

const TOTP_COLUMNS: &str =
    "user_id, sealed, created_at, confirmed_at, last_step, last_used_at, failures";
const TICKET_COLUMNS: &str =
    "token_hash, user_id, session_epoch, methods, purpose, failures, expires_at";

pub(super) async fn totp_secret<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
) -> StoreResult<Option<TotpSecret>> {
    DB::query(&format!(
        "SELECT {TOTP_COLUMNS} FROM totp_secrets WHERE user_id = $1"
    ))
    .arg(user_id)
    .optional::<TotpSecret>(&mut *e.reader().await?)
    .await
}

/// A new pending secret, replacing a pending one; never one already confirmed.
pub(super) async fn begin_totp<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    sealed: &[u8],
    now: i64,
) -> StoreResult<bool> {
    let n = DB::query(
        "INSERT INTO totp_secrets (user_id, sealed, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, \
         created_at = excluded.created_at, last_step = 0, failures = 0 \
         WHERE totp_secrets.confirmed_at IS NULL",
    )
    .arg(user_id)
    .arg(sealed.to_vec())
    .arg(now)
    .run(&mut *e.write_conn_leaving_cache().await?)
    .await?;
    Ok(n == 1)
}

/// Confirms a pending secret with the step of its first code and, when `recovery` holds
/// a new set of recovery code hashes, replaces the user's codes with it, and ends every
/// session of the user: in one transaction, so nothing is half-enrolled.
pub(super) async fn confirm_totp<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    sealed: &[u8],
    step: i64,
    now: i64,
    recovery: &[String],
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    // The secret the code was checked against, not one a second enrolment put there since.
    let n = DB::query(
        "UPDATE totp_secrets SET confirmed_at = $2, last_step = $3, last_used_at = $2 \
         WHERE user_id = $1 AND confirmed_at IS NULL AND last_step < $3 AND sealed = $4",
    )
    .arg(user_id)
    .arg(now)
    .arg(step)
    .arg(sealed.to_vec())
    .run(&mut *tx)
    .await?;
    if n != 1 {
        tx.commit().await.map_err(DB::classify)?;
        return Ok(false);
    }
    if !recovery.is_empty() {
        replace_codes::<DB>(&mut tx, user_id, recovery, now).await?;
    }
    // Tokens and sessions from before the second factor are at the old level: they end
    // (a family an attacker started with the password alone included).
    sessions::end_all_sessions::<DB>(&mut tx, user_id, now).await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(true)
}

/// Accepts a code of time step `step` for a confirmed secret, once: only when no code of
/// this step or a later one was accepted before.
pub(super) async fn use_totp_step<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    step: i64,
    now: i64,
) -> StoreResult<bool> {
    let n = DB::query(
        "UPDATE totp_secrets SET last_step = $2, last_used_at = $3, failures = 0 \
         WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2 AND failures < $4",
    )
    .arg(user_id)
    .arg(step)
    .arg(now)
    .arg(TOTP_MAX_FAILURES)
    .run(&mut *e.write_conn_leaving_cache().await?)
    .await?;
    Ok(n == 1)
}

/// Removes the secret and, with `drop_recovery` (no factor is left), the recovery codes.
pub(super) async fn remove_totp<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    drop_recovery: bool,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    let n = DB::query("DELETE FROM totp_secrets WHERE user_id = $1")
        .arg(user_id)
        .run(&mut *tx)
        .await?;
    if drop_recovery {
        DB::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .arg(user_id)
            .run(&mut *tx)
            .await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(n == 1)
}

pub(super) async fn recovery_codes<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
) -> StoreResult<Option<RecoveryCodes>> {
    let found = DB::query(
        "SELECT COALESCE(SUM(CASE WHEN used_at IS NULL THEN 1 ELSE 0 END), 0) AS remaining, \
         COALESCE(MIN(created_at), 0) AS created_at, MAX(used_at) AS last_used_at \
         FROM recovery_codes WHERE user_id = $1 HAVING COUNT(*) > 0",
    )
    .arg(user_id)
    .optional::<RecoveryCodes>(&mut *e.reader().await?)
    .await?;
    Ok(found)
}

async fn replace_codes<DB: Dialect>(
    conn: &mut DB::Connection,
    user_id: i64,
    hashes: &[String],
    now: i64,
) -> StoreResult<()> {
    DB::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .arg(user_id)
        .run(&mut *conn)
        .await?;
    for hash in hashes {
        DB::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .arg(user_id)
        .arg(hash)
        .arg(now)
        .run(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Replaces every recovery code of the user with `hashes`, in one transaction.
pub(super) async fn replace_recovery_codes<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    hashes: &[String],
    now: i64,
) -> StoreResult<()> {
    let mut tx = e.begin_write().await?;
    replace_codes::<DB>(&mut tx, user_id, hashes, now).await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(())
}

/// Spends one recovery code: true only for the first use of a code the user has.
pub(super) async fn use_recovery_code<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    hash: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = DB::query(
        "UPDATE recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .arg(user_id)
    .arg(hash)
    .arg(now)
    .run(&mut *e.write_conn_leaving_cache().await?)
    .await?;
    Ok(n == 1)
}

/// Removes every second factor of the user and ends every session, in one transaction.
/// Returns whether the user exists.
pub(super) async fn reset_factors<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    let exists: Option<(i64,)> = DB::query(&format!(
        "SELECT id FROM users WHERE id = $1{}",
        DB::FOR_UPDATE
    ))
    .arg(user_id)
    .optional(&mut *tx)
    .await?;
    if exists.is_none() {
        tx.commit().await.map_err(DB::classify)?;
        return Ok(false);
    }
    for statement in [
        "DELETE FROM totp_secrets WHERE user_id = $1",
        "DELETE FROM recovery_codes WHERE user_id = $1",
        "DELETE FROM mfa_tickets WHERE user_id = $1",
        "DELETE FROM webauthn_credentials WHERE user_id = $1",
        "DELETE FROM webauthn_ceremonies WHERE user_id = $1",
    ] {
        DB::query(statement).arg(user_id).run(&mut *tx).await?;
    }
    sessions::end_all_sessions::<DB>(&mut tx, user_id, now).await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(true)
}

/// Counts a wrong TOTP code against the user's authenticator (in a row).
pub(super) async fn record_totp_failure<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
) -> StoreResult<()> {
    DB::query("UPDATE totp_secrets SET failures = failures + 1 WHERE user_id = $1")
        .arg(user_id)
        .run(&mut *e.write_conn_leaving_cache().await?)
        .await?;
    Ok(())
}

/// Stores a ticket in place of the user's earlier ones of the same purpose: one live
/// sign-in per user and surface, however often the password is typed.
pub(super) async fn insert_mfa_ticket<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    t: &MfaTicket,
) -> StoreResult<()> {
    let mut tx = e.begin_write().await?;
    DB::query("DELETE FROM mfa_tickets WHERE user_id = $1 AND purpose = $2")
        .arg(t.user_id)
        .arg(&t.purpose)
        .run(&mut *tx)
        .await?;
    DB::query(&format!(
        "INSERT INTO mfa_tickets ({TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .arg(&t.token_hash)
    .arg(t.user_id)
    .arg(t.session_epoch)
    .arg(&t.methods)
    .arg(&t.purpose)
    .arg(t.failures)
    .arg(t.expires_at)
    .run(&mut *tx)
    .await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(())
}

/// Counts an attempt at a live ticket before its code is checked (so that concurrent
/// guesses cannot outrun the bound): the ticket, when it had fewer than `max` attempts.
pub(super) async fn attempt_mfa_ticket<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    token_hash: &str,
    purpose: &str,
    max: i64,
    now: i64,
) -> StoreResult<Option<MfaTicket>> {
    DB::query(&format!(
        "UPDATE mfa_tickets SET failures = failures + 1 \
         WHERE token_hash = $1 AND purpose = $4 AND failures < $2 AND expires_at > $3 \
         RETURNING {TICKET_COLUMNS}"
    ))
    .arg(token_hash)
    .arg(max)
    .arg(now)
    .arg(purpose)
    .optional::<MfaTicket>(&mut *e.write_conn_leaving_cache().await?)
    .await
}

/// Spends a ticket: true for the one caller that removed it.
pub(super) async fn take_mfa_ticket<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    token_hash: &str,
) -> StoreResult<bool> {
    let n = DB::query("DELETE FROM mfa_tickets WHERE token_hash = $1")
        .arg(token_hash)
        .run(&mut *e.write_conn_leaving_cache().await?)
        .await?;
    Ok(n == 1)
}

/// A live ticket with attempts left, without counting one.
pub(super) async fn mfa_ticket<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    token_hash: &str,
    purpose: &str,
    max: i64,
    now: i64,
) -> StoreResult<Option<MfaTicket>> {
    DB::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM mfa_tickets \
         WHERE token_hash = $1 AND purpose = $4 AND failures < $2 AND expires_at > $3"
    ))
    .arg(token_hash)
    .arg(max)
    .arg(now)
    .arg(purpose)
    .optional::<MfaTicket>(&mut *e.reader().await?)
    .await
}

pub(super) async fn totp_secrets<DB: Dialect>(
    e: &impl Engine<Db = DB>,
) -> StoreResult<Vec<TotpSecret>> {
    DB::query(&format!(
        "SELECT {TOTP_COLUMNS} FROM totp_secrets ORDER BY user_id"
    ))
    .all::<TotpSecret>(&mut *e.reader().await?)
    .await
}

const PASSKEY_COLUMNS: &str =
    "credential_id, user_id, handle, name, passkey, created_at, last_used_at";

pub(super) async fn passkeys_of<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
) -> StoreResult<Vec<PasskeyRow>> {
    DB::query(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM webauthn_credentials WHERE user_id = $1 \
         ORDER BY created_at, credential_id"
    ))
    .arg(user_id)
    .all::<PasskeyRow>(&mut *e.reader().await?)
    .await
}

pub(super) async fn passkey<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    credential_id: &str,
) -> StoreResult<Option<PasskeyRow>> {
    DB::query(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM webauthn_credentials WHERE credential_id = $1"
    ))
    .arg(credential_id)
    .optional::<PasskeyRow>(&mut *e.reader().await?)
    .await
}

/// Stores a new passkey and ends every session of its user (what was issued before is
/// at the old level), in one transaction. A credential id already registered (to anyone)
/// is a conflict.
pub(super) async fn insert_passkey<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    p: &PasskeyRow,
    recovery: &[String],
) -> StoreResult<()> {
    let mut tx = e.begin_write().await?;
    DB::query(&format!(
        "INSERT INTO webauthn_credentials ({PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .arg(&p.credential_id)
    .arg(p.user_id)
    .arg(&p.handle)
    .arg(&p.name)
    .arg(&p.passkey)
    .arg(p.created_at)
    .arg(p.last_used_at)
    .run(&mut *tx)
    .await?;
    if !recovery.is_empty() {
        replace_codes::<DB>(&mut tx, p.user_id, recovery, p.created_at).await?;
    }
    sessions::end_all_sessions::<DB>(&mut tx, p.user_id, p.created_at).await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(())
}

/// A passkey used: its new state (counter) and the time, only over the state it was read
/// with (a concurrent use of a cloned authenticator loses).
pub(super) async fn use_passkey<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    credential_id: &str,
    old: &str,
    new: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = DB::query(
        "UPDATE webauthn_credentials SET passkey = $3, last_used_at = $4 \
         WHERE credential_id = $1 AND passkey = $2",
    )
    .arg(credential_id)
    .arg(old)
    .arg(new)
    .arg(now)
    .run(&mut *e.write_conn_leaving_cache().await?)
    .await?;
    Ok(n == 1)
}

/// Removes a passkey of the user and, with `drop_recovery` (no factor left), the recovery
/// codes, and ends every session of the user, in one transaction.
pub(super) async fn remove_passkey<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    user_id: i64,
    credential_id: &str,
    drop_recovery: bool,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    let n = DB::query("DELETE FROM webauthn_credentials WHERE user_id = $1 AND credential_id = $2")
        .arg(user_id)
        .arg(credential_id)
        .run(&mut *tx)
        .await?;
    if n == 1 && drop_recovery {
        DB::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .arg(user_id)
            .run(&mut *tx)
            .await?;
    }
    // What the passkey signed in must not outlive it.
    if n == 1 {
        sessions::end_all_sessions::<DB>(&mut tx, user_id, now).await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(n == 1)
}

pub(super) async fn insert_ceremony<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    c: &Ceremony,
) -> StoreResult<()> {
    DB::query(
        "INSERT INTO webauthn_ceremonies (id_hash, user_id, kind, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .arg(&c.id_hash)
    .arg(c.user_id)
    .arg(&c.kind)
    .arg(&c.state)
    .arg(c.expires_at)
    .run(&mut *e.write_conn_leaving_cache().await?)
    .await?;
    Ok(())
}

/// Takes a live ceremony of `kind` once.
pub(super) async fn take_ceremony<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id_hash: &str,
    kind: &str,
    now: i64,
) -> StoreResult<Option<Ceremony>> {
    DB::query(
        "DELETE FROM webauthn_ceremonies WHERE id_hash = $1 AND kind = $2 AND expires_at > $3 \
         RETURNING id_hash, user_id, kind, state, expires_at",
    )
    .arg(id_hash)
    .arg(kind)
    .arg(now)
    .optional::<Ceremony>(&mut *e.write_conn_leaving_cache().await?)
    .await
}
