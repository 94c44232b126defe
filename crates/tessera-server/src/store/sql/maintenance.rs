//! Health, pruning what can never be used again, and row counts (`tessera db stats`).

use super::{Dialect, Engine, Statement as _};
use crate::store::*;

pub(super) async fn ping<DB: Dialect>(e: &impl Engine<Db = DB>) -> StoreResult<()> {
    DB::query("SELECT 1").run(&mut *e.reader().await?).await?;
    Ok(())
}

pub(super) async fn prune_expired<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    now: i64,
    failures_before: i64,
) -> StoreResult<Vec<(&'static str, u64)>> {
    let statements: [(&'static str, &'static str, i64); 11] = [
        (
            "refresh_tokens",
            "DELETE FROM refresh_tokens WHERE expires_at < $1 AND access_expires_at < $1",
            now,
        ),
        (
            "auth_codes",
            "DELETE FROM auth_codes WHERE expires_at < $1",
            now,
        ),
        (
            "sessions",
            "DELETE FROM sessions WHERE expires_at < $1",
            now,
        ),
        (
            "user_links",
            "DELETE FROM user_links WHERE expires_at < $1",
            now,
        ),
        (
            "webauthn_ceremonies",
            "DELETE FROM webauthn_ceremonies WHERE expires_at < $1",
            now,
        ),
        (
            "mfa_tickets",
            "DELETE FROM mfa_tickets WHERE expires_at < $1",
            now,
        ),
        (
            "pushed_requests",
            "DELETE FROM pushed_requests WHERE expires_at < $1",
            now,
        ),
        (
            "legacy_refresh_used",
            "DELETE FROM legacy_refresh_used WHERE expires_at < $1",
            now,
        ),
        (
            "revoked_access",
            "DELETE FROM revoked_access WHERE expires_at < $1",
            now,
        ),
        (
            "login_failures",
            "DELETE FROM login_failures WHERE last_failure < $1 AND key NOT LIKE 'ok:%'",
            failures_before,
        ),
        // The throttle's known-address marks live longer than its counters.
        (
            "login_failures (known addresses)",
            "DELETE FROM login_failures WHERE last_failure < $1 AND key LIKE 'ok:%'",
            now.saturating_sub(crate::store::KNOWN_ADDRESS_FOR),
        ),
    ];
    let mut removed = Vec::with_capacity(statements.len());
    for (table, sql, bound) in statements {
        // One short write per table: no long lock on SQLite's single writer.
        let done = DB::query(sql)
            .arg(bound)
            .run(&mut *e.write_conn().await?)
            .await?;
        removed.push((table, done));
    }
    // Sign-ups nobody confirmed: no usable password, no link left (they went
    // above), an hour old at least (a sign-up's link is written just after its
    // account). They would hold a username and an address forever.
    let before = time::OffsetDateTime::from_unix_timestamp(now.saturating_sub(3600))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let done = DB::query(
        "DELETE FROM users WHERE email_verified = FALSE AND password_hash = '!' \
         AND date_joined < $1 \
         AND NOT EXISTS (SELECT 1 FROM user_links WHERE user_links.user_id = users.id)",
    )
    .arg(before)
    .run(&mut *e.write_conn().await?)
    .await?;
    removed.push(("users (unconfirmed sign-ups)", done));
    Ok(removed)
}

pub(super) async fn table_counts<DB: Dialect>(
    e: &impl Engine<Db = DB>,
) -> StoreResult<Vec<(&'static str, i64)>> {
    const TABLES: [&str; 23] = [
        "webauthn_credentials",
        "webauthn_ceremonies",
        "totp_secrets",
        "recovery_codes",
        "mfa_tickets",
        "audit_events",
        "session_clients",
        "session_grants",
        "logout_deliveries",
        "pushed_requests",
        "deleted_clients",
        "users",
        "clients",
        "signing_keys",
        "refresh_tokens",
        "revoked_access",
        "sessions",
        "consents",
        "auth_codes",
        "login_failures",
        "user_links",
        "legacy_refresh_used",
        "_sqlx_migrations",
    ];
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let n: i64 = DB::query(&format!("SELECT count(*) FROM {table}"))
            .scalar(&mut *e.reader().await?)
            .await?;
        counts.push((table, n));
    }
    Ok(counts)
}
