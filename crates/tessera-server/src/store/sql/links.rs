//! Single-use links mailed to users (verification, reset, e-mail change): stored as the
//! hash of their token, and redeemed and applied in one transaction.

use super::{Dialect, Engine, Statement as _, sessions};
use crate::store::*;

/// The columns of [`super::UserLink`].
pub(in crate::store) const LINK_COLUMNS: &str = "token_hash, user_id, purpose, new_email, expires_at, \
     password_hash, username, first_name, last_name";

/// Every pending link (verification, reset, e-mail change) of the user removed.
pub(super) async fn void_user_links<DB: Dialect>(
    conn: &mut DB::Connection,
    id: i64,
) -> StoreResult<()> {
    DB::query("DELETE FROM user_links WHERE user_id = $1")
        .arg(id)
        .run(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn insert_user_link<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    link: &UserLink,
) -> StoreResult<()> {
    DB::query(
        "INSERT INTO user_links (token_hash, user_id, purpose, new_email, expires_at, \
         password_hash, username, first_name, last_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .arg(&link.token_hash)
    .arg(link.user_id)
    .arg(link.purpose.as_str())
    .arg(&link.new_email)
    .arg(link.expires_at)
    .arg(&link.signup.password_hash)
    .arg(&link.signup.username)
    .arg(&link.signup.first_name)
    .arg(&link.signup.last_name)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(())
}

pub(super) async fn redeem_user_link<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    token_hash: &str,
    purpose: LinkPurpose,
    now: i64,
) -> StoreResult<Option<UserLink>> {
    let mut tx = e.begin_write().await?;
    let found = DB::query(&format!(
        "DELETE FROM user_links WHERE token_hash = $1 AND purpose = $2 \
         RETURNING {LINK_COLUMNS}"
    ))
    .arg(token_hash)
    .arg(purpose.as_str())
    .optional::<UserLink>(&mut *tx)
    .await?;
    let Some(link) = found.filter(|l| l.expires_at > now) else {
        tx.commit().await.map_err(DB::classify)?;
        return Ok(None);
    };
    match link.purpose {
        // The sign-up whose link the mailbox owner followed decides the
        // password, username and names, whoever signed up first.
        LinkPurpose::Verify if link.signup.password_hash.is_some() => {
            let s = &link.signup;
            DB::query(
                "UPDATE users SET email_verified = TRUE, \
                 password_hash = COALESCE($1, password_hash), \
                 username = COALESCE($2, username), \
                 username_key = COALESCE($3, username_key), \
                 first_name = COALESCE($4, first_name), \
                 last_name = COALESCE($5, last_name) \
                 WHERE id = $6 AND email_verified = FALSE",
            )
            .arg(&s.password_hash)
            .arg(&s.username)
            .arg(s.username.as_deref().map(crate::domain::user::username_key))
            .arg(&s.first_name)
            .arg(&s.last_name)
            .arg(link.user_id)
            .run(&mut *tx)
            .await?;
        }
        // A reset link reached the address too: it is proven.
        LinkPurpose::Verify | LinkPurpose::Reset => {
            DB::query("UPDATE users SET email_verified = TRUE WHERE id = $1")
                .arg(link.user_id)
                .run(&mut *tx)
                .await?;
        }
        LinkPurpose::Email => {
            // A username that was the old address follows it: it would
            // otherwise be an address the account no longer has.
            let (old_email,): (String,) = DB::query("SELECT email FROM users WHERE id = $1")
                .arg(link.user_id)
                .one(&mut *tx)
                .await?;
            let old_key = crate::domain::user::username_key(&old_email);
            // A sign-up nobody confirmed for the new address gives way.
            DB::query(&format!(
                "DELETE FROM users WHERE {} AND id <> $2 \
                 AND email_verified = FALSE AND password_hash = '!'",
                DB::EMAIL_MATCH
            ))
            .arg(&link.new_email)
            .arg(link.user_id)
            .run(&mut *tx)
            .await?;
            DB::query(
                "UPDATE users SET email = $1, email_verified = TRUE, \
                 username = CASE WHEN username_key = $3 THEN $1 ELSE username END, \
                 username_key = CASE WHEN username_key = $3 THEN $4 ELSE username_key END \
                 WHERE id = $2",
            )
            .arg(&link.new_email)
            .arg(link.user_id)
            .arg(old_key)
            .arg(
                link.new_email
                    .as_deref()
                    .map(crate::domain::user::username_key),
            )
            .run(&mut *tx)
            .await?;
            // The account moved: what was mailed to the old address and every
            // session started before are void.
            sessions::end_all_sessions::<DB>(&mut tx, link.user_id, now).await?;
            void_user_links::<DB>(&mut tx, link.user_id).await?;
        }
        // Never asked for (redemption names a known purpose): nothing to apply.
        LinkPurpose::Unknown => {}
    }
    // One link of a kind at a time: the others of the same purpose go too.
    DB::query("DELETE FROM user_links WHERE user_id = $1 AND purpose = $2")
        .arg(link.user_id)
        .arg(link.purpose.as_str())
        .run(&mut *tx)
        .await?;
    tx.commit().await.map_err(DB::classify)?;
    Ok(Some(link))
}

pub(super) async fn user_link<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    token_hash: &str,
) -> StoreResult<Option<UserLink>> {
    DB::query(&format!(
        "SELECT {LINK_COLUMNS} FROM user_links WHERE token_hash = $1"
    ))
    .arg(token_hash)
    .optional::<UserLink>(&mut *e.reader().await?)
    .await
}
