//! The audit log: appended, read in pages, pruned.

use super::{Dialect, Engine, Statement as _};
use crate::store::*;

pub(super) async fn record_audit<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    event: &AuditEvent,
) -> StoreResult<()> {
    DB::query(
        "INSERT INTO audit_events (at, kind, actor, subject, ip, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .arg(event.at)
    .arg(&event.kind)
    .arg(&event.actor)
    .arg(&event.subject)
    .arg(&event.ip)
    .arg(&event.detail)
    .run(&mut *e.write_conn_leaving_cache().await?)
    .await?;
    Ok(())
}

pub(super) async fn audit_events<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    let mut rows: Vec<crate::store::AuditEvent> = DB::query(
        "SELECT id, at, kind, actor, subject, ip, detail FROM audit_events \
         WHERE id > $1 ORDER BY id DESC LIMIT $2",
    )
    .arg(after)
    .arg(limit)
    .all(&mut *e.reader().await?)
    .await?;
    rows.reverse();
    Ok(rows)
}

pub(super) async fn prune_audit<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    before: i64,
) -> StoreResult<u64> {
    let done = DB::query("DELETE FROM audit_events WHERE at < $1")
        .arg(before)
        .run(&mut *e.write_conn().await?)
        .await?;
    Ok(done)
}
