//! Everything still meaningful, read in one transaction and written all or nothing into an
//! empty store (`tessera db export` / `import`).

use super::clients::CLIENT_COLUMNS;
use super::keys::KEY_COLUMNS;
use super::refresh::REFRESH_COLUMNS;
use super::users::USER_COLUMNS;
use super::{Dialect, Engine, Statement as _, clients, keys, refresh};
use crate::store::*;

pub(super) async fn snapshot<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    now: i64,
) -> StoreResult<Snapshot> {
    // One read transaction, so the parts agree with each other.
    let mut tx = e.pool().begin().await.map_err(DB::classify)?;
    let users = DB::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
        .all::<User>(&mut *tx)
        .await?;
    let keys = DB::query(&format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid"
    ))
    .rows(&mut *tx)
    .await?;
    let clients = DB::query(&format!(
        "SELECT {CLIENT_COLUMNS} FROM clients ORDER BY client_id"
    ))
    .rows(&mut *tx)
    .await?;
    let refresh = DB::query(&format!(
        "SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE expires_at > $1 \
         ORDER BY family, issued_at, jti"
    ))
    .arg(now)
    .rows(&mut *tx)
    .await?;
    let revoked =
        DB::query("SELECT jti, expires_at FROM revoked_access WHERE expires_at > $1 ORDER BY jti")
            .arg(now)
            .rows(&mut *tx)
            .await?;
    let totp_secrets = DB::query(
        "SELECT user_id, sealed, created_at, confirmed_at, last_step, last_used_at, failures \
         FROM totp_secrets WHERE confirmed_at IS NOT NULL ORDER BY user_id",
    )
    .all::<TotpSecret>(&mut *tx)
    .await?;
    let recovery_codes = DB::query(
        "SELECT user_id, code_hash, created_at FROM recovery_codes \
         WHERE used_at IS NULL ORDER BY user_id, code_hash",
    )
    .all::<RecoveryCodeRow>(&mut *tx)
    .await?;
    let passkeys = DB::query(
        "SELECT credential_id, user_id, handle, name, passkey, created_at, last_used_at \
         FROM webauthn_credentials ORDER BY user_id, credential_id",
    )
    .all::<PasskeyRow>(&mut *tx)
    .await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(Snapshot {
        passkeys,
        totp_secrets,
        recovery_codes,
        users,
        clients: clients
            .iter()
            .map(clients::client_from_row::<DB>)
            .collect::<StoreResult<_>>()?,
        signing_keys: keys
            .iter()
            .map(keys::key_from_row::<DB>)
            .collect::<StoreResult<_>>()?,
        refresh_tokens: refresh
            .iter()
            .map(refresh::refresh_from_row::<DB>)
            .collect::<StoreResult<_>>()?,
        revoked_access: revoked
            .iter()
            .map(|r| {
                Ok(RevokedAccess {
                    jti: DB::column(r, "jti")?,
                    expires_at: DB::column(r, "expires_at")?,
                })
            })
            .collect::<StoreResult<_>>()?,
    })
}

pub(super) async fn restore<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    s: &Snapshot,
) -> StoreResult<()> {
    let mut tx = e.begin_write().await?;
    let occupied: Option<i32> = DB::query(
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM clients) \
         OR EXISTS (SELECT 1 FROM signing_keys) OR EXISTS (SELECT 1 FROM refresh_tokens)",
    )
    .optional_scalar(&mut *tx)
    .await?;
    if occupied.is_some() {
        return Err(StoreError::NotEmpty);
    }
    for u in &s.users {
        DB::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}, username_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19)"
        ))
        .arg(u.id)
        .arg(&u.username)
        .arg(&u.email)
        .arg(&u.password_hash)
        .arg(&u.first_name)
        .arg(&u.last_name)
        .arg(u.is_active)
        .arg(u.is_staff)
        .arg(u.is_superuser)
        .arg(u.date_joined)
        .arg(u.last_login)
        .arg(sqlx::types::Json(&u.roles))
        .arg(sqlx::types::Json(&u.groups))
        .arg(u.services.as_ref().map(sqlx::types::Json))
        .arg(u.email_verified)
        .arg(u.session_epoch)
        .arg(u.imported_id)
        .arg(u.mfa_required)
        .arg(crate::domain::user::username_key(&u.username))
        .run(&mut *tx)
.await?;
    }
    DB::query(DB::RESET_USER_IDS).run(&mut *tx).await?;
    for c in &s.clients {
        clients::insert_client::<DB>(&mut tx, c).await?;
    }
    for k in &s.signing_keys {
        keys::insert_key::<DB>(&mut tx, k).await?;
    }
    for r in &s.refresh_tokens {
        refresh::insert_refresh_row::<DB>(&mut tx, &r.record, r.state, r.replaced_by.as_deref())
            .await?;
    }
    for t in &s.totp_secrets {
        DB::query(
            "INSERT INTO totp_secrets (user_id, sealed, created_at, confirmed_at, last_step, \
             last_used_at, failures) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .arg(t.user_id)
        .arg(t.sealed.clone())
        .arg(t.created_at)
        .arg(t.confirmed_at)
        .arg(t.last_step)
        .arg(t.last_used_at)
        .arg(t.failures)
        .run(&mut *tx)
        .await?;
    }
    for p in &s.passkeys {
        DB::query(
            "INSERT INTO webauthn_credentials (credential_id, user_id, handle, name, passkey, \
             created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .arg(&p.credential_id)
        .arg(p.user_id)
        .arg(&p.handle)
        .arg(&p.name)
        .arg(&p.passkey)
        .arg(p.created_at)
        .arg(p.last_used_at)
        .run(&mut *tx)
        .await?;
    }
    for r in &s.recovery_codes {
        DB::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .arg(r.user_id)
        .arg(&r.code_hash)
        .arg(r.created_at)
        .run(&mut *tx)
        .await?;
    }
    for r in &s.revoked_access {
        DB::query("INSERT INTO revoked_access (jti, expires_at) VALUES ($1, $2)")
            .arg(&r.jti)
            .arg(r.expires_at)
            .run(&mut *tx)
            .await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(())
}
