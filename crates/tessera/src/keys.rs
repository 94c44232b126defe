//! `tessera keys …`

use crate::cli::KeysCommand;
use crate::output::{self, Format};
use anyhow::{Context, bail};
use serde_json::json;
use tessera_server::config::{KeyBackend, Settings};
use tessera_server::http::jwks::JWKS_MAX_AGE;
use tessera_server::keys::{Keyring, MasterKey, VaultKeys, stage_key};
use tessera_server::store::{self, DynStore, KeyAlg, KeyState, StoredKey};
use tessera_token::{Algorithm, Clock, SigningKey, SystemClock};

pub async fn run(cmd: KeysCommand, settings: &Settings, out: Format) -> anyhow::Result<()> {
    if let KeysCommand::PushVault { from_file, alg } = cmd {
        return push_vault(settings, from_file.as_deref(), alg, out).await;
    }
    if let KeysCommand::Rewrap { new_key_file } = cmd {
        return rewrap_master(settings, new_key_file.as_deref(), out).await;
    }
    if settings.keys.backend != KeyBackend::Local {
        return in_vault(cmd, settings, out).await;
    }
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
        KeysCommand::PushVault { .. } | KeysCommand::Rewrap { .. } => handled_earlier(),
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

fn handled_earlier() -> anyhow::Result<()> {
    bail!("push-vault and rewrap are handled before the keyring is opened")
}

/// The Vault key source as the server builds it; `vault-kv` when the backend is local
/// (`push-vault` before switching the backend).
fn vault_source(settings: &Settings) -> anyhow::Result<VaultKeys> {
    let backend = match settings.keys.backend {
        KeyBackend::Local => KeyBackend::VaultKv,
        other => other,
    };
    tessera_server::startup::vault_keys(settings, backend).context("[vault] settings")
}

async fn push_vault(
    settings: &Settings,
    from_file: Option<&std::path::Path>,
    alg: Option<Algorithm>,
    out: Format,
) -> anyhow::Result<()> {
    let alg = alg.unwrap_or(settings.tokens.algorithm);
    let key = match from_file {
        Some(file) => {
            let pem = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            SigningKey::from_pem(alg, &pem)
                .with_context(|| format!("{} is not a usable {alg} private key", file.display()))?
        }
        None => SigningKey::generate_with(alg, settings.keys.rsa_size())?,
    };
    let version = vault_source(settings)?.push(&key).await?;
    output::message(
        out,
        &format!(
            "wrote {} ({alg}) to {}/{} as version {version}; it signs once it has been published \
             for the JWKS max-age ({JWKS_MAX_AGE} s) plus two reload intervals",
            key.kid(),
            settings.vault.kv_mount,
            settings.vault.kv_path
        ),
        &json!({"kid": key.kid(), "alg": alg.as_str(), "version": version}),
    );
    Ok(())
}

/// `keys` commands when the signing keys live in Vault.
async fn in_vault(cmd: KeysCommand, settings: &Settings, out: Format) -> anyhow::Result<()> {
    let source = vault_source(settings)?;
    let now = SystemClock.unix();
    match cmd {
        KeysCommand::List => {
            let view = source.view(now).await?;
            let signing = view.fingerprint.iter().find(|(_, s)| *s).map(|(v, _)| *v);
            let rows: Vec<_> = view
                .published
                .iter()
                .zip(&view.fingerprint)
                .map(|(k, (version, _))| {
                    let state = match signing {
                        Some(s) if *version == s => "active",
                        Some(s) if *version > s => "next",
                        _ => "retired",
                    };
                    (k.kid().to_owned(), k.alg(), *version, state)
                })
                .collect();
            let text = rows
                .iter()
                .map(|(kid, alg, v, state)| format!("{kid}  {alg}  v{v}  {state}"))
                .collect::<Vec<_>>()
                .join("\n");
            let json: Vec<_> = rows
                .iter()
                .map(|(kid, alg, v, state)| {
                    json!({"kid": kid, "alg": alg.as_str(), "version": v, "state": state})
                })
                .collect();
            output::message(out, &text, &json);
            Ok(())
        }
        KeysCommand::Rotate { alg, now: at_once } => {
            if at_once {
                bail!(
                    "--now is not available with keys in Vault: a version signs once it has been \
                     published for the JWKS max-age plus two reload intervals, counted from \
                     Vault's own creation time so that every replica agrees"
                );
            }
            let alg = alg.unwrap_or(settings.tokens.algorithm);
            let done = source.rotate(alg, settings.keys.rsa_size()).await?;
            output::message(out, &done, &json!({"done": done}));
            Ok(())
        }
        KeysCommand::Revoke { kid } => {
            let version = source.revoke(&kid, now).await?;
            output::message(
                out,
                &format!("deleted version {version} ({kid}); servers drop it at their next reload"),
                &json!({"kid": kid, "version": version, "state": "revoked"}),
            );
            Ok(())
        }
        KeysCommand::Import { file, alg, .. } => push_vault(settings, Some(&file), alg, out).await,
        KeysCommand::ExportPublic => {
            let view = source.view(now).await?;
            let mut set = tessera_token::KeySet::new();
            for key in view.published {
                set.insert(key);
            }
            println!("{}", serde_json::to_string_pretty(&set.to_jwks())?);
            Ok(())
        }
        KeysCommand::Retire { .. } => bail!(
            "with keys in Vault a version retires when a newer one starts signing: \
             `tessera keys rotate`"
        ),
        KeysCommand::PushVault { .. } | KeysCommand::Rewrap { .. } => handled_earlier(),
    }
}

/// `tessera keys rewrap`: a new master key for the same signing keys.
async fn rewrap_master(
    settings: &Settings,
    new_key_file: Option<&std::path::Path>,
    out: Format,
) -> anyhow::Result<()> {
    use tessera_server::keys::master::MASTER_KEY_FILE;
    let store = store::connect(&settings.database_url(), &settings.database).await?;
    let old = MasterKey::obtain(settings.master_key.as_ref(), &settings.data_dir, true)
        .context("opening the current master key")?;
    let key_path = settings.data_dir.join(MASTER_KEY_FILE);
    let staged = settings.data_dir.join(format!("{MASTER_KEY_FILE}.new"));
    let (new, written) = match (new_key_file, settings.master_key.is_some()) {
        (Some(file), _) if file.exists() => (MasterKey::from_file(file)?, file.to_owned()),
        (Some(file), _) => (MasterKey::create_new_file(file)?, file.to_owned()),
        (None, true) => bail!(
            "the master key comes from TESSERA_MASTER_KEY / master_key: give --new-key-file FILE \
             to receive the new one"
        ),
        (None, false) => (
            MasterKey::create_new_file(&staged).with_context(|| {
                format!("{} (left by an interrupted rewrap?)", staged.display())
            })?,
            staged.clone(),
        ),
    };
    let count = tessera_server::keys::rewrap(store.as_ref(), &old, &new)
        .await
        .context("re-sealing the stored keys")?;
    tessera_server::service::audit::event("keys.rewrapped")
        .actor("cli")
        .detail(format!("{count} keys"))
        .record(store.as_ref(), SystemClock.unix())
        .await;
    let replaced_file = new_key_file.is_none();
    let written = if replaced_file {
        std::fs::rename(&staged, &key_path)
            .with_context(|| format!("moving {} to {}", staged.display(), key_path.display()))?;
        key_path.clone()
    } else {
        written
    };
    let text = if replaced_file {
        format!(
            "re-sealed {count} keys under a new master key, now in {}; restart every server",
            key_path.display()
        )
    } else {
        format!(
            "re-sealed {count} keys under the master key in {}: deploy it (TESSERA_MASTER_KEY or \
             {}) and restart every server",
            written.display(),
            key_path.display()
        )
    };
    output::message(
        out,
        &format!("{text}. Database backups made before now still need the previous master key."),
        &json!({"resealed": count, "master_key_file": written.display().to_string(), "replaced": replaced_file}),
    );
    Ok(())
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

    async fn audit(&self, kind: &str, kid: &str, detail: &str) {
        tessera_server::service::audit::event(kind)
            .actor("cli")
            .subject(kid)
            .detail(detail)
            .record(self.store.as_ref(), self.now)
            .await;
    }

    /// When a key activated now retires the one it replaces.
    fn retire_after(&self) -> i64 {
        let t = &self.settings.tokens;
        self.now
            .saturating_add(tessera_server::domain::time::seconds(
                t.access_lifetime + t.leeway,
            ))
    }

    async fn published(&self) -> anyhow::Result<Vec<StoredKey>> {
        Ok(self
            .store
            .signing_keys()
            .await?
            .into_iter()
            .filter(|k| k.alg != KeyAlg::Mac)
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
            .find(|k| k.alg == KeyAlg::Signing(alg) && k.state == KeyState::Next);
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
        self.audit(if now { "key.activated" } else { "key.staged" }, &kid, verb)
            .await;
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
    async fn replace(&self, alg: KeyAlg, kid: &str) -> anyhow::Result<String> {
        let KeyAlg::Signing(alg) = alg else {
            anyhow::bail!("the refresh MAC key is not replaced here");
        };
        let staged =
            self.published().await?.into_iter().find(|k| {
                k.alg == KeyAlg::Signing(alg) && k.state == KeyState::Next && k.kid != kid
            });
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
                let next = self.replace(key.alg, kid).await?;
                format!("{kid} retired (published until its tokens expire); {next} signs now")
            }
            KeyState::Next => {
                self.store.delete_signing_key(kid).await?;
                format!("{kid} withdrawn before it signed anything")
            }
            KeyState::Retired => format!("{kid} is already retired"),
        };
        self.audit("key.retired", kid, "cli").await;
        output::message(out, &text, &json!({"retired": kid}));
        Ok(())
    }

    async fn revoke(&self, kid: &str, out: Format) -> anyhow::Result<()> {
        let key = self.find(kid).await?;
        let replacement = match key.state {
            KeyState::Active => Some(self.replace(key.alg, kid).await?),
            _ => None,
        };
        self.store.delete_signing_key(kid).await?;
        self.audit("key.revoked", kid, "emergency revocation").await;
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
