//! Users: creating them, finding them by id, username or e-mail, and changing their profile,
//! password and state. A change that should end the user's sessions does so in the same
//! transaction.

use super::refresh::Families;
use super::{Dialect, Engine, Statement as _, Value, links, refresh, sessions};
use crate::store::*;

/// The columns of [`super::User`], in `FromRow` order.
pub(in crate::store) const USER_COLUMNS: &str = "id, username, email, password_hash, first_name, last_name, \
     is_active, is_staff, is_superuser, date_joined, last_login, roles, group_names, services, email_verified, session_epoch, imported_id, mfa_required";

/// Gives every user written before `users.username_key` existed its key; one
/// whose key another already has (old usernames differing only in case) keeps
/// none, is found by its exact username, and is named in a warning.
pub(in crate::store) async fn fill_username_keys<DB: Dialect>(
    e: &impl Engine<Db = DB>,
) -> StoreResult<()> {
    let missing: Vec<(i64, String)> =
        DB::query("SELECT id, username FROM users WHERE username_key IS NULL ORDER BY id")
            .all(&mut *e.reader().await?)
            .await?;
    for (id, username) in missing {
        let filled = DB::query("UPDATE users SET username_key = $1 WHERE id = $2")
            .arg(crate::domain::user::username_key(&username))
            .arg(id)
            .run(&mut *e.write_conn().await?)
            .await;
        match filled {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => tracing::warn!(
                user_id = id,
                %username,
                "another user's username differs from this one only in case or width: \
                 rename one of them (logins by this one must be typed exactly)"
            ),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(super) async fn user_where<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    clause: &str,
    value: &str,
) -> StoreResult<Option<User>> {
    DB::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}"))
        .arg(value)
        .optional::<User>(&mut *e.reader().await?)
        .await
}

/// Runs `update` (parameters `$1` = value, `$2` = id) on one user and, with
/// `end_sessions`, revokes all their tokens, in one transaction.
pub(super) async fn update_user<DB: Dialect, T>(
    e: &impl Engine<Db = DB>,
    update: &str,
    value: T,
    id: i64,
    end_sessions: bool,
    now: i64,
) -> StoreResult<bool>
where
    T: for<'q> Value<'q>,
{
    let mut tx = e.begin_write().await?;
    let found = DB::query(update).arg(value).arg(id).run(&mut *tx).await? == 1;
    if found && end_sessions {
        sessions::end_all_sessions::<DB>(&mut tx, id, now).await?;
        // A password set or a disable voids every link mailed before: a reset
        // link issued to the account as it was must not set its password now.
        links::void_user_links::<DB>(&mut tx, id).await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(found)
}

pub(super) async fn create_user<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    u: &NewUser,
) -> StoreResult<User> {
    let mut tx = e.begin_write().await?;
    // An explicit id (an import) or the database's next one.
    let (id_column, id_value) = match u.id {
        Some(_) => ("id, ", "$1, "),
        None => ("", ""),
    };
    let first = if u.id.is_some() { 2 } else { 1 };
    let params = (first..first + 16)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO users ({id_column}username, email, password_hash, first_name, \
         last_name, is_active, is_staff, is_superuser, date_joined, last_login, roles, \
         group_names, services, email_verified, imported_id, username_key) \
         VALUES ({id_value}{params}) RETURNING {USER_COLUMNS}"
    );
    let mut query = DB::query(&sql);
    if let Some(id) = u.id {
        query = query.arg(id);
    }
    let user = query
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
        .arg(u.imported_id)
        .arg(crate::domain::user::username_key(&u.username))
        .one::<User>(&mut *tx)
        .await?;
    if u.id.is_some() {
        // Keep PostgreSQL's sequence past explicitly given ids.
        DB::query(DB::RESET_USER_IDS).run(&mut *tx).await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(user)
}

pub(super) async fn user_by_id<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
) -> StoreResult<Option<User>> {
    let load = async {
        DB::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .arg(id)
            .optional::<User>(&mut *e.reader().await?)
            .await
    };
    match e.read_cache() {
        Some(cache) => cache.through(|c| &c.users, id, load).await,
        None => load.await,
    }
}

pub(super) async fn user_by_username<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    username: &str,
) -> StoreResult<Option<User>> {
    // By the key (case and width do not matter); a row still without one (two
    // old usernames differing only in case) by its exact username.
    DB::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username_key = $1 \
         OR (username_key IS NULL AND username = $2)"
    ))
    .arg(crate::domain::user::username_key(username))
    .arg(username)
    .optional::<User>(&mut *e.reader().await?)
    .await
}

pub(super) async fn user_by_email<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    email: &str,
) -> StoreResult<Option<User>> {
    user_where(e, DB::EMAIL_MATCH, email).await
}

pub(super) async fn list_users<DB: Dialect>(e: &impl Engine<Db = DB>) -> StoreResult<Vec<User>> {
    DB::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
        .all::<User>(&mut *e.reader().await?)
        .await
}

pub(super) async fn search_users<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    search: &str,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<User>, i64)> {
    let escaped = search
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let filter = "lower(username) LIKE $1 ESCAPE '\\' OR lower(email) LIKE $1 ESCAPE '\\' \
         OR lower(first_name) LIKE $1 ESCAPE '\\' OR lower(last_name) LIKE $1 ESCAPE '\\'";
    let (total,): (i64,) = DB::query(&format!("SELECT COUNT(*) FROM users WHERE {filter}"))
        .arg(&pattern)
        .one(&mut *e.reader().await?)
        .await?;
    let users = DB::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {filter} ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .arg(&pattern)
    .arg(limit)
    .arg(offset)
    .all::<User>(&mut *e.reader().await?)
    .await?;
    Ok((users, total))
}

pub(super) async fn update_user_profile<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    u: &User,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    let before: Option<(String,)> = DB::query("SELECT email FROM users WHERE id = $1")
        .arg(u.id)
        .optional(&mut *tx)
        .await?;
    let Some((old_email,)) = before else {
        tx.commit().await.map_err(DB::classify)?;
        return Ok(false);
    };
    DB::query(
        "UPDATE users SET username = $1, email = $2, first_name = $3, last_name = $4, \
         is_staff = $5, is_superuser = $6, roles = $7, group_names = $8, services = $9, \
         username_key = $11, mfa_required = $12 WHERE id = $10",
    )
    .arg(&u.username)
    .arg(&u.email)
    .arg(&u.first_name)
    .arg(&u.last_name)
    .arg(u.is_staff)
    .arg(u.is_superuser)
    .arg(sqlx::types::Json(&u.roles))
    .arg(sqlx::types::Json(&u.groups))
    .arg(u.services.as_ref().map(sqlx::types::Json))
    .arg(u.id)
    .arg(crate::domain::user::username_key(&u.username))
    .arg(u.mfa_required)
    .run(&mut *tx)
    .await?;
    // The account moved to another address: what was mailed to the old one and
    // every session started before are void (as a self-service change does).
    if old_email.to_lowercase() != u.email.to_lowercase() {
        sessions::end_all_sessions::<DB>(&mut tx, u.id, now).await?;
        links::void_user_links::<DB>(&mut tx, u.id).await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(true)
}

pub(super) async fn delete_user<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    refresh::revoke_families::<DB>(&mut tx, Families::User(id), now).await?;
    sessions::queue_logouts::<DB, _>(&mut tx, "sc.user_id = $1", id, now).await?;
    let done = DB::query("DELETE FROM users WHERE id = $1")
        .arg(id)
        .run(&mut *tx)
        .await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(done == 1)
}

pub(super) async fn set_password_hash<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
    hash: &str,
    end_sessions: bool,
    now: i64,
) -> StoreResult<bool> {
    let update = "UPDATE users SET password_hash = $1 WHERE id = $2";
    update_user(e, update, hash.to_owned(), id, end_sessions, now).await
}

pub(super) async fn upgrade_password_hash<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
    old: &str,
    new: &str,
) -> StoreResult<bool> {
    let done =
        DB::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
            .arg(new)
            .arg(id)
            .arg(old)
            .run(&mut *e.write_conn().await?)
            .await?;
    Ok(done == 1)
}

pub(super) async fn set_active<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
    active: bool,
    now: i64,
) -> StoreResult<bool> {
    let update = "UPDATE users SET is_active = $1 WHERE id = $2";
    update_user(e, update, active, id, !active, now).await
}

pub(super) async fn record_login<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    id: i64,
    at: time::OffsetDateTime,
) -> StoreResult<()> {
    // One user's last_login: that user is forgotten from the read cache once
    // the update has committed, not the whole cache.
    let mut conn = e.write_conn_leaving_cache().await?;
    DB::query("UPDATE users SET last_login = $1 WHERE id = $2")
        .arg(at)
        .arg(id)
        .run(&mut *conn)
        .await?;
    drop(conn);
    if let Some(cache) = e.read_cache() {
        cache.users.forget(&id);
    }
    Ok(())
}
