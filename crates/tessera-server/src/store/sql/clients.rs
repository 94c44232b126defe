//! OAuth clients: registration, lookup (through the read cache on SQLite), secrets and
//! deletion (which revokes what the client was given).

use super::refresh::Families;
use super::{Dialect, Engine, Statement as _, refresh};
use crate::domain::GrantType;
use crate::store::*;

/// Client columns, in [`super::Client`] order.
pub(in crate::store) const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, grants, \
     scopes, first_party, access_lifetime, refresh_lifetime, created_at, id_token_alg, audiences, \
     post_logout_redirect_uris, backchannel_logout_uri, backchannel_logout_session_required, \
     frontchannel_logout_uri, frontchannel_logout_session_required, \
     require_pushed_authorization_requests, jwks, jwks_uri, request_object_signing_alg, \
     require_signed_request_object, require_mfa";

/// A JSON list kept in a text column.
fn json_list<DB: Dialect, T: serde::de::DeserializeOwned>(
    r: &DB::Row,
    column: &str,
) -> StoreResult<Vec<T>> {
    let text: String = DB::column(r, column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("client {column}: {e}")))
}

/// A list as the JSON text it is kept as.
fn json<T: serde::Serialize>(v: &[T]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// The grant types a client row names; one this version does not know (written by hand or
/// by a newer version) grants nothing, as before there were types, and is logged.
fn grants(client_id: &str, names: Vec<String>) -> Vec<GrantType> {
    names
        .into_iter()
        .filter_map(|name| {
            GrantType::parse(&name)
                .inspect_err(|_| {
                    tracing::warn!(client_id, grant = %name, "a stored grant type is unknown: ignored");
                })
                .ok()
        })
        .collect()
}

pub(super) fn client_from_row<DB: Dialect>(r: &DB::Row) -> StoreResult<Client> {
    let list = |column: &str| json_list::<DB, String>(r, column);
    Ok(Client {
        client_id: DB::column(r, "client_id")?,
        name: DB::column(r, "name")?,
        secret_hash: DB::column(r, "secret_hash")?,
        redirect_uris: list("redirect_uris")?,
        grants: grants(&DB::column::<String>(r, "client_id")?, list("grants")?),
        scopes: list("scopes")?,
        first_party: DB::column(r, "first_party")?,
        access_lifetime: DB::column(r, "access_lifetime")?,
        refresh_lifetime: DB::column(r, "refresh_lifetime")?,
        created_at: DB::column(r, "created_at")?,
        id_token_alg: DB::column(r, "id_token_alg")?,
        audiences: list("audiences")?,
        post_logout_redirect_uris: list("post_logout_redirect_uris")?,
        backchannel_logout_uri: DB::column(r, "backchannel_logout_uri")?,
        backchannel_logout_session_required: DB::column(r, "backchannel_logout_session_required")?,
        frontchannel_logout_uri: DB::column(r, "frontchannel_logout_uri")?,
        frontchannel_logout_session_required: DB::column(
            r,
            "frontchannel_logout_session_required",
        )?,
        require_pushed_authorization_requests: DB::column(
            r,
            "require_pushed_authorization_requests",
        )?,
        jwks: DB::column(r, "jwks")?,
        jwks_uri: DB::column(r, "jwks_uri")?,
        request_object_signing_alg: DB::column(r, "request_object_signing_alg")?,
        require_signed_request_object: DB::column(r, "require_signed_request_object")?,
        require_mfa: DB::column(r, "require_mfa")?,
    })
}

pub(super) async fn insert_client<DB: Dialect>(
    conn: &mut DB::Connection,
    c: &Client,
) -> StoreResult<()> {
    DB::query(&format!(
        "INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
    ))
    .arg(&c.client_id)
    .arg(&c.name)
    .arg(&c.secret_hash)
    .arg(json(&c.redirect_uris))
    .arg(json(&c.grants))
    .arg(json(&c.scopes))
    .arg(c.first_party)
    .arg(c.access_lifetime)
    .arg(c.refresh_lifetime)
    .arg(c.created_at)
    .arg(&c.id_token_alg)
    .arg(json(&c.audiences))
    .arg(json(&c.post_logout_redirect_uris))
    .arg(&c.backchannel_logout_uri)
    .arg(c.backchannel_logout_session_required)
    .arg(&c.frontchannel_logout_uri)
    .arg(c.frontchannel_logout_session_required)
    .arg(c.require_pushed_authorization_requests)
    .arg(&c.jwks)
    .arg(&c.jwks_uri)
    .arg(&c.request_object_signing_alg)
    .arg(c.require_signed_request_object)
    .arg(c.require_mfa)
    .run(&mut *conn)
.await?;
    Ok(())
}

pub(super) async fn create_client<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    c: &Client,
) -> StoreResult<()> {
    insert_client::<DB>(&mut *e.write_conn().await?, c).await
}

pub(super) async fn client<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    client_id: &str,
) -> StoreResult<Option<Client>> {
    let load = async {
        let row = DB::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1"
        ))
        .arg(client_id)
        .row(&mut *e.reader().await?)
        .await?;
        row.as_ref().map(client_from_row::<DB>).transpose()
    };
    match e.read_cache() {
        Some(cache) => {
            cache
                .through(|c| &c.clients, client_id.to_owned(), load)
                .await
        }
        None => load.await,
    }
}

pub(super) async fn list_clients<DB: Dialect>(
    e: &impl Engine<Db = DB>,
) -> StoreResult<Vec<Client>> {
    let rows = DB::query(&format!(
        "SELECT {CLIENT_COLUMNS} FROM clients ORDER BY client_id"
    ))
    .rows(&mut *e.reader().await?)
    .await?;
    rows.iter().map(client_from_row::<DB>).collect()
}

pub(super) async fn set_client_secret<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    client_id: &str,
    secret_hash: &str,
) -> StoreResult<bool> {
    let done = DB::query(
        "UPDATE clients SET secret_hash = $1 WHERE client_id = $2 AND secret_hash IS NOT NULL",
    )
    .arg(secret_hash)
    .arg(client_id)
    .run(&mut *e.write_conn().await?)
    .await?;
    Ok(done == 1)
}

pub(super) async fn delete_client<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    client_id: &str,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = e.begin_write().await?;
    refresh::revoke_families::<DB>(&mut tx, Families::Client(client_id), now).await?;
    let gone = DB::query("DELETE FROM clients WHERE client_id = $1")
        .arg(client_id)
        .run(&mut *tx)
        .await?
        == 1;
    if gone {
        DB::query(
            "INSERT INTO deleted_clients (client_id, deleted_at) VALUES ($1, $2) \
             ON CONFLICT (client_id) DO UPDATE SET deleted_at = excluded.deleted_at",
        )
        .arg(client_id)
        .arg(now)
        .run(&mut *tx)
        .await?;
    }
    tx.commit().await.map_err(DB::classify)?;
    Ok(gone)
}

pub(super) async fn client_deleted_at<DB: Dialect>(
    e: &impl Engine<Db = DB>,
    client_id: &str,
) -> StoreResult<Option<i64>> {
    DB::query("SELECT deleted_at FROM deleted_clients WHERE client_id = $1")
        .arg(client_id)
        .optional_scalar(&mut *e.reader().await?)
        .await
}
