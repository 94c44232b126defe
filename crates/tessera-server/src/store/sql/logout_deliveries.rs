//! The back-channel logout queue: due deliveries (fair between clients), leases and retries.

use super::{Dialect, Engine, Statement as _};
use crate::store::*;

/// The columns of `logout_deliveries`, in [`LogoutDelivery`](super::LogoutDelivery)'s order.
pub(in crate::store) const DELIVERY_COLUMNS: &str =
    "id, client_id, uri, sub, sid, created_at, attempts, next_attempt_at";

pub(super) fn delivery_from_row<DB: Dialect>(r: &DB::Row) -> StoreResult<LogoutDelivery> {
    Ok(LogoutDelivery {
        id: DB::column(r, "id")?,
        client_id: DB::column(r, "client_id")?,
        uri: DB::column(r, "uri")?,
        sub: DB::column(r, "sub")?,
        sid: DB::column(r, "sid")?,
        created_at: DB::column(r, "created_at")?,
        attempts: DB::column(r, "attempts")?,
        next_attempt_at: DB::column(r, "next_attempt_at")?,
    })
}

pub(super) async fn due_logout_deliveries<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    now: i64,
    per_client: i64,
    limit: i64,
) -> StoreResult<Vec<LogoutDelivery>> {
    // The oldest `per_client` of each client: one client with a flood of
    // deliveries, or a dead endpoint, cannot fill every round.
    let rows = DB::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM (SELECT {DELIVERY_COLUMNS}, ROW_NUMBER() OVER \
         (PARTITION BY client_id ORDER BY next_attempt_at, id) AS n \
         FROM logout_deliveries WHERE next_attempt_at <= $1) AS due \
         WHERE n <= $2 ORDER BY next_attempt_at, id LIMIT $3"
    ))
    .arg(now)
    .arg(per_client)
    .arg(limit)
    .rows(&mut *e.reader().await?)
    .await?;
    rows.iter().map(delivery_from_row::<DB>).collect()
}

pub(super) async fn lease_logout_delivery<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
    seen: i64,
    until: i64,
) -> StoreResult<bool> {
    let done = DB::query(
        "UPDATE logout_deliveries SET next_attempt_at = $3, attempts = attempts + 1 \
         WHERE id = $1 AND next_attempt_at = $2",
    )
    .arg(id)
    .arg(seen)
    .arg(until)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(done == 1)
}

pub(super) async fn retry_logout_delivery<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
    at: i64,
) -> StoreResult<()> {
    DB::query("UPDATE logout_deliveries SET next_attempt_at = $2 WHERE id = $1")
        .arg(id)
        .arg(at)
        .run(&mut *e.write_conn().await?)
        .await?;
    Ok(())
}

pub(super) async fn finish_logout_delivery<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
) -> StoreResult<()> {
    DB::query("DELETE FROM logout_deliveries WHERE id = $1")
        .arg(id)
        .run(&mut *e.write_conn().await?)
        .await?;
    Ok(())
}
