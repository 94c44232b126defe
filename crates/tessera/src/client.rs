//! `tessera client …`

use crate::cli::ClientCommand;
use crate::output::{self, Format};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use tessera_server::config::Settings;
use tessera_server::service::audit::Actor;
use tessera_server::service::client::{self, ClientServiceError, NewClient};
use tessera_server::store::{self, Client};
use tessera_token::{Clock, SystemClock};

pub async fn run(cmd: ClientCommand, settings: &Settings, out: Format) -> anyhow::Result<()> {
    let store = store::connect(&settings.database_url(), &settings.database).await?;
    match cmd {
        ClientCommand::Create {
            id,
            name,
            public,
            redirect_uris,
            grants,
            scopes,
            first_party,
            access_lifetime,
            refresh_lifetime,
            id_token_alg,
            audiences,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            backchannel_logout_session_required,
            frontchannel_logout_uri,
            frontchannel_logout_session_required,
            require_pushed_authorization_requests,
            jwks_file,
            jwks_uri,
            request_object_signing_alg,
            require_signed_request_object,
            require_mfa,
        } => {
            let jwks = match jwks_file {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("--jwks-file {}", path.display()))?,
                ),
                None => None,
            };
            let seconds =
                |d: Option<std::time::Duration>| d.map(tessera_server::domain::time::seconds);
            let input = NewClient {
                id,
                name,
                public,
                redirect_uris,
                grants,
                scopes,
                first_party,
                access_lifetime: seconds(access_lifetime),
                refresh_lifetime: seconds(refresh_lifetime),
                id_token_alg,
                audiences,
                post_logout_redirect_uris,
                backchannel_logout_uri,
                backchannel_logout_session_required,
                frontchannel_logout_uri,
                frontchannel_logout_session_required,
                require_pushed_authorization_requests,
                jwks,
                jwks_uri,
                request_object_signing_alg,
                require_signed_request_object,
                require_mfa,
            };
            if let Some(alg) = id_token_alg {
                let active = store.signing_keys().await?.into_iter().any(|k| {
                    k.alg == tessera_server::store::KeyAlg::Signing(alg)
                        && k.state == tessera_server::store::KeyState::Active
                });
                if !active && settings.keys.backend == tessera_server::config::KeyBackend::Local {
                    eprintln!(
                        "warning: no active {alg} key yet; its ID tokens fail until `tessera keys rotate --alg {alg}` has activated one"
                    );
                }
            }
            let created = client::create(
                store.as_ref(),
                input,
                SystemClock.unix(),
                &settings.tokens.audience,
                Actor::Cli,
            )
            .await?;
            let secret = created.secret.as_ref().map(|s| s.expose().to_owned());
            let text = match &secret {
                Some(s) => format!(
                    "created confidential client {}\nclient_secret: {s}\n(shown once: store it now; `tessera client rotate-secret` makes a new one)",
                    created.client.client_id
                ),
                None => format!("created public client {}", created.client.client_id),
            };
            output::message(
                out,
                &text,
                &json!({"client_id": created.client.client_id, "client_secret": secret}),
            );
        }
        ClientCommand::List => {
            let clients = store.list_clients().await?;
            let text = clients
                .iter()
                .map(|c| {
                    format!(
                        "{}  {}  {}  grants: {}",
                        c.client_id,
                        kind(c),
                        c.name,
                        c.grants
                            .iter()
                            .map(|g| g.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            let json: Vec<Value> = clients.iter().map(view).collect();
            output::message(out, &text, &json);
        }
        ClientCommand::Show { id } => {
            let c = store
                .client(&id)
                .await?
                .with_context(|| format!("no client {id}"))?;
            let v = view(&c);
            output::message(out, &serde_json::to_string_pretty(&v)?, &v);
        }
        ClientCommand::Delete { id } => {
            match client::delete(store.as_ref(), &id, Actor::Cli, SystemClock.unix()).await {
                Ok(()) => {}
                Err(ClientServiceError::NotFound(_)) => bail!("no client {id}"),
                Err(e) => return Err(e.into()),
            }
            output::message(
                out,
                &format!("deleted client {id}; its refresh tokens are revoked"),
                &json!({"deleted": id}),
            );
        }
        ClientCommand::RotateSecret { id } => {
            let secret =
                client::rotate_secret(store.as_ref(), &id, Actor::Cli, SystemClock.unix()).await?;
            output::message(
                out,
                &format!("client_secret: {}\n(shown once)", secret.expose()),
                &json!({"client_id": id, "client_secret": secret.expose()}),
            );
        }
    }
    Ok(())
}

fn kind(c: &Client) -> &'static str {
    if c.secret_hash.is_some() {
        "confidential"
    } else {
        "public"
    }
}

/// A client without its secret hash.
fn view(c: &Client) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "type": kind(c),
        "redirect_uris": c.redirect_uris,
        "grants": c.grants,
        "scopes": c.scopes,
        "first_party": c.first_party,
        "access_lifetime": c.access_lifetime,
        "refresh_lifetime": c.refresh_lifetime,
        "id_token_alg": c.id_token_alg,
        "id_token_signed_response_alg": c.id_token_alg,
        "audiences": c.audiences,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "backchannel_logout_session_required": c.backchannel_logout_session_required,
        "frontchannel_logout_uri": c.frontchannel_logout_uri,
        "frontchannel_logout_session_required": c.frontchannel_logout_session_required,
        "require_pushed_authorization_requests": c.require_pushed_authorization_requests,
        "jwks": c.jwks.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok()),
        "jwks_uri": c.jwks_uri,
        "request_object_signing_alg": c.request_object_signing_alg,
        "require_signed_request_object": c.require_signed_request_object,
        "require_mfa": c.require_mfa,
        "created_at": c.created_at,
    })
}
