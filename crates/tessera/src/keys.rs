//! `tessera keys …`

use crate::cli::KeysCommand;
use crate::output::{self, Format};
use anyhow::{Context, bail};
use serde_json::json;
use tessera_server::config::Settings;
use tessera_server::http::jwks::JWKS_MAX_AGE;
use tessera_server::keys::{Keyring, MasterKey, stage_key};
use tessera_server::store::{self, DynStore, KeyState, StoredKey};
use tessera_token::{Algorithm, Clock, SigningKey, SystemClock};

/// The stored name of the internal refresh MAC key (never listed, retired or revoked here).
const MAC_ALG: &str = "HS256";

pub async fn run(cmd: KeysCommand, settings: &Settings, out: Format) -> anyhow::Result<()> {
    let store = store::connect(&settings.database_url(), &settings.database).await?;
    let keys = Keys {
        store,
        settings,
        now: SystemClock.unix(),
    };
    match cmd {
        KeysCommand::List => keys.list(out).await,
        KeysCommand::Rotate { alg, now } => {
            let alg = alg.unwrap_or(settings.tokens.algorithm);
            keys.rotate(alg, now, out).await
        }
        KeysCommand::Retire { kid } => keys.retire(&kid, out).await,
        KeysCommand::Revoke { kid } => keys.revoke(&kid, out).await,
        KeysCommand::Import { file, alg, now } => {
            let alg = alg.unwrap_or(settings.tokens.algorithm);
            let pem = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let key = SigningKey::from_pem(alg, &pem)
                .with_context(|| format!("{} is not a usable {alg} private key", file.display()))?;
            keys.stage(&key, now, out, "imported").await
        }
        KeysCommand::ExportPublic => {
            let master = keys.master().await?;
            let public =
                Keyring::public_keys(&master, &keys.published().await?, settings.tokens.algorithm)
                    .context("reading the stored keys")?;
            println!("{}", serde_json::to_string_pretty(&public.to_jwks())?);
            Ok(())
        }
    }
}

struct Keys<'a> {
    store: DynStore,
    settings: &'a Settings,
    now: i64,
}

impl Keys<'_> {
    /// The master key; created (as a first start would) only when no key is stored yet.
    async fn master(&self) -> anyhow::Result<MasterKey> {
        let sealed_exist = !self.store.signing_keys().await?.is_empty();
        MasterKey::obtain(
            self.settings.master_key.as_ref(),
            &self.settings.data_dir,
            sealed_exist,
        )
        .context("opening the master key")
    }

    /// When a key activated now retires the one it replaces.
    fn retire_after(&self) -> i64 {
        let t = &self.settings.tokens;
        self.now + i64::try_from((t.access_lifetime + t.leeway).as_secs()).unwrap_or(i64::MAX / 2)
    }

    async fn published(&self) -> anyhow::Result<Vec<StoredKey>> {
        Ok(self
            .store
            .signing_keys()
            .await?
            .into_iter()
            .filter(|k| k.alg != MAC_ALG)
            .collect())
    }

    async fn find(&self, kid: &str) -> anyhow::Result<StoredKey> {
        self.published()
            .await?
            .into_iter()
            .find(|k| k.kid == kid)
            .with_context(|| format!("no signing key {kid}"))
    }

    async fn list(&self, out: Format) -> anyhow::Result<()> {
        let keys = self.published().await?;
        let text = keys
            .iter()
            .map(|k| format!("{}  {}  {}", k.kid, k.alg, k.state.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        let json: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({"kid": k.kid, "alg": k.alg, "state": k.state, "created_at": k.created_at,
                       "activated_at": k.activated_at, "retire_after": k.retire_after})
            })
            .collect();
        output::message(out, &text, &json);
        Ok(())
    }

    async fn rotate(&self, alg: Algorithm, now: bool, out: Format) -> anyhow::Result<()> {
        let staged = self
            .published()
            .await?
            .into_iter()
            .find(|k| k.alg == alg.as_str() && k.state == KeyState::Next);
        match staged {
            Some(k) if now => {
                self.store
                    .activate_key(&k.kid, self.retire_after(), self.now)
                    .await?;
                output::message(
                    out,
                    &format!("{} ({alg}), staged before, is active now", k.kid),
                    &json!({"kid": k.kid, "alg": alg.as_str(), "state": KeyState::Active}),
                );
                Ok(())
            }
            Some(k) => bail!(
                "{} is already staged for {alg}; `tessera keys rotate --now` activates it",
                k.kid
            ),
            None => {
                let key = SigningKey::generate_with(alg, self.settings.keys.rsa_size())?;
                self.stage(&key, now, out, "generated").await
            }
        }
    }

    async fn stage(
        &self,
        key: &SigningKey,
        now: bool,
        out: Format,
        verb: &str,
    ) -> anyhow::Result<()> {
        let master = self.master().await?;
        let kid = stage_key(
            self.store.as_ref(),
            &master,
            key,
            now.then(|| self.retire_after()),
            self.now,
        )
        .await
        .context("a key of this algorithm is already staged (see `tessera keys list`)")?;
        let alg = key.alg();
        let delay = JWKS_MAX_AGE + self.settings.database.key_reload_interval.as_secs();
        let (state, text) = if now {
            eprintln!(
                "warning: {kid} signs at once; verifiers holding a cached JWKS refuse its tokens until they refetch"
            );
            (
                KeyState::Active,
                format!(
                    "{verb} {kid} ({alg}); active: running servers switch within one key reload interval"
                ),
            )
        } else {
            (
                KeyState::Next,
                format!(
                    "{verb} {kid} ({alg}); published now, running servers start signing with it in about {delay}s"
                ),
            )
        };
        output::message(
            out,
            &text,
            &json!({"kid": kid, "alg": alg.as_str(), "state": state}),
        );
        Ok(())
    }

    /// Makes sure another key of `alg` is active, so `kid` can stop signing.
    async fn replace(&self, alg: &str, kid: &str) -> anyhow::Result<String> {
        let alg: Algorithm = alg
            .parse()
            .map_err(|_| anyhow::anyhow!("unknown algorithm {alg}"))?;
        let staged = self
            .published()
            .await?
            .into_iter()
            .find(|k| k.alg == alg.as_str() && k.state == KeyState::Next && k.kid != kid);
        let next = match staged {
            Some(k) => k.kid,
            None => {
                let key = SigningKey::generate_with(alg, self.settings.keys.rsa_size())?;
                stage_key(
                    self.store.as_ref(),
                    &self.master().await?,
                    &key,
                    None,
                    self.now,
                )
                .await?
            }
        };
        self.store
            .activate_key(&next, self.retire_after(), self.now)
            .await?;
        Ok(next)
    }

    async fn retire(&self, kid: &str, out: Format) -> anyhow::Result<()> {
        let key = self.find(kid).await?;
        let text = match key.state {
            KeyState::Active => {
                let next = self.replace(&key.alg, kid).await?;
                format!("{kid} retired (published until its tokens expire); {next} signs now")
            }
            KeyState::Next => {
                self.store.delete_signing_key(kid).await?;
                format!("{kid} withdrawn before it signed anything")
            }
            KeyState::Retired => format!("{kid} is already retired"),
        };
        output::message(out, &text, &json!({"retired": kid}));
        Ok(())
    }

    async fn revoke(&self, kid: &str, out: Format) -> anyhow::Result<()> {
        let key = self.find(kid).await?;
        let replacement = match key.state {
            KeyState::Active => Some(self.replace(&key.alg, kid).await?),
            _ => None,
        };
        self.store.delete_signing_key(kid).await?;
        let reload = self.settings.database.key_reload_interval.as_secs();
        eprintln!(
            "warning: {kid} is gone from the JWKS; tokens it signed are refused by Tessera within {reload}s and by verifiers once they refetch the JWKS"
        );
        let text = match &replacement {
            Some(next) => format!("revoked {kid}; {next} signs now"),
            None => format!("revoked {kid}"),
        };
        output::message(out, &text, &json!({"revoked": kid, "active": replacement}));
        Ok(())
    }
}
