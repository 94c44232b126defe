//! `tessera keys …`

use crate::cli::KeysCommand;
use crate::output::{self, Format};
use anyhow::Context;
use tessera_server::config::Settings;
use tessera_server::http::jwks::JWKS_MAX_AGE;
use tessera_server::keys::{MasterKey, stage_new_key};
use tessera_server::store::{self, KeyState};
use tessera_token::{Clock, SystemClock};

pub async fn run(cmd: KeysCommand, settings: &Settings, out: Format) -> anyhow::Result<()> {
    let store = store::connect(&settings.database_url(), &settings.database).await?;
    match cmd {
        KeysCommand::List => {
            let keys: Vec<_> = store
                .signing_keys()
                .await?
                .into_iter()
                .filter(|k| k.alg != "HS256")
                .map(|k| {
                    serde_json::json!({
                        "kid": k.kid, "alg": k.alg, "state": k.state,
                        "created_at": k.created_at, "activated_at": k.activated_at,
                        "retire_after": k.retire_after,
                    })
                })
                .collect();
            let text = keys
                .iter()
                .map(|k| format!("{}  {}  {}", k["kid"], k["alg"], k["state"]).replace('"', ""))
                .collect::<Vec<_>>()
                .join("\n");
            output::message(out, &text, &keys);
        }
        KeysCommand::Rotate { alg, now } => {
            let master = MasterKey::obtain(settings.master_key.as_ref(), &settings.data_dir, true)
                .context("opening the master key")?;
            let alg = alg.unwrap_or(settings.tokens.algorithm);
            let at = SystemClock.unix();
            let tokens = &settings.tokens;
            let retire_after = at
                + i64::try_from((tokens.access_lifetime + tokens.leeway).as_secs())
                    .unwrap_or(i64::MAX / 2);
            let kid = stage_new_key(
                store.as_ref(),
                &master,
                alg,
                now.then_some(retire_after),
                at,
            )
            .await?;
            let state = if now {
                KeyState::Active
            } else {
                KeyState::Next
            };
            let delay = JWKS_MAX_AGE + settings.database.key_reload_interval.as_secs();
            let text = if now {
                eprintln!(
                    "warning: {kid} signs at once; verifiers holding a cached JWKS refuse its tokens until they refetch"
                );
                format!(
                    "{kid} ({alg}) is active; running servers switch within one key reload interval"
                )
            } else {
                format!(
                    "{kid} ({alg}) is published; running servers start signing with it in about {delay}s"
                )
            };
            output::message(
                out,
                &text,
                &serde_json::json!({"kid": kid, "alg": alg.as_str(), "state": state}),
            );
        }
    }
    Ok(())
}
