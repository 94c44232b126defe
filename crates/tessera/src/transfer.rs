//! `tessera export` and `tessera import`: moving a whole installation between databases.

use crate::output::{self, Format};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use tessera_server::config::Settings;
use tessera_server::keys::{Keyring, MasterKey};
use tessera_server::store::{self, Snapshot};
use tessera_token::{Clock, SystemClock};

/// The file's identification, so that `import` refuses anything else.
const FORMAT: &str = "tessera-export";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct ExportFile {
    format: String,
    version: u32,
    exported_at: i64,
    #[serde(flatten)]
    snapshot: Snapshot,
}

pub async fn export(file: &Path, settings: &Settings, out: Format) -> anyhow::Result<()> {
    let store = store::connect(&settings.database_url(), &settings.database).await?;
    let now = SystemClock.unix();
    let snapshot = store.snapshot(now).await?;
    let counts = snapshot.counts();
    let doc = ExportFile {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: now,
        snapshot,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(file)
        .with_context(|| format!("creating {} (it must not exist yet)", file.display()))?;
    serde_json::to_writer(&mut f, &doc)?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    output::message(
        out,
        &format!(
            "exported to {}: {} users, {} keys, {} refresh tokens ({} live families), {} revoked access tokens",
            file.display(),
            counts.users,
            counts.signing_keys,
            counts.refresh_tokens,
            counts.live_families,
            counts.revoked_access
        ),
        &serde_json::json!({"exported": counts, "file": file}),
    );
    Ok(())
}

pub async fn import(file: &Path, settings: &Settings, out: Format) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let doc: ExportFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Tessera export", file.display()))?;
    if doc.format != FORMAT || doc.version != VERSION {
        bail!(
            "{} is format {:?} version {}, this build reads {FORMAT} version {VERSION}",
            file.display(),
            doc.format,
            doc.version
        );
    }
    let snapshot = doc.snapshot;
    // The same cost ceiling as every other import: a stored hash beyond it could not be
    // verified, and the file is data from outside.
    let bounds = tessera_server::service::password::hash_cost::Argon2Bounds::for_settings(
        &settings.passwords,
    );
    if let Some(u) = snapshot
        .users
        .iter()
        .find(|u| !tessera_server::service::password::supported_hash(&u.password_hash, &bounds))
    {
        bail!(
            "user {:?} has a password hash Tessera does not accept (unknown, or above the cost ceiling): nothing was imported",
            u.username
        );
    }
    // Every user as creating it would check it: the file is data from outside.
    for u in &snapshot.users {
        tessera_server::service::user::check_restored(u)
            .map_err(|e| anyhow::anyhow!("user {:?}: {e}: nothing was imported", u.username))?;
    }
    for c in &snapshot.clients {
        tessera_server::service::client::check_restored(c)
            .map_err(|e| anyhow::anyhow!("client {:?}: {e}: nothing was imported", c.client_id))?;
    }
    if !snapshot.signing_keys.is_empty() {
        // Every key must open under this installation's master key, or the imported
        // installation could not sign: check before writing anything.
        let master = MasterKey::obtain(settings.master_key.as_ref(), &settings.data_dir, true)
            .context("the export holds sealed keys: give the source's master key")?;
        Keyring::from_stored(&master, &snapshot.signing_keys, settings.tokens.algorithm)
            .context("the master key must be the one the export's keys are sealed under")?;
    }
    let store = store::connect(&settings.database_url(), &settings.database).await?;
    store.restore(&snapshot).await?;
    let counts = snapshot.counts();
    output::message(
        out,
        &format!(
            "imported {} users, {} keys, {} refresh tokens ({} live families), {} revoked access tokens",
            counts.users,
            counts.signing_keys,
            counts.refresh_tokens,
            counts.live_families,
            counts.revoked_access
        ),
        &serde_json::json!({"imported": counts}),
    );
    Ok(())
}
