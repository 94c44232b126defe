//! `[keys]` and `[vault]`: where the signing keys live and how often they rotate.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use tessera_proto::Secret;

/// Where the private signing keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum KeyBackend {
    /// In the database, sealed under the master key.
    #[default]
    Local,
    /// A PEM private key in a Vault / OpenBao KV v2 secret; versions of the secret are
    /// the keys.
    VaultKv,
    /// Vault / OpenBao's transit engine signs; the private key never leaves it; versions
    /// of the transit key are the keys.
    VaultTransit,
}

/// `[keys]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// Where private keys live: `local`, `vault-kv` or `vault-transit`.
    pub backend: KeyBackend,
    /// Size of generated RSA keys (RS256, PS256): 2048, 3072 or 4096.
    pub rsa_bits: u32,
    /// Rotate the signing key automatically when it has signed this long (`0s`: never).
    #[serde(with = "humantime_serde")]
    pub rotate_every: Duration,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            backend: KeyBackend::Local,
            rsa_bits: 2048,
            rotate_every: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl KeySettings {
    /// The RSA size as the token crate names it.
    pub fn rsa_size(&self) -> tessera_token::key::RsaBits {
        match self.rsa_bits {
            3072 => tessera_token::key::RsaBits::B3072,
            4096 => tessera_token::key::RsaBits::B4096,
            _ => tessera_token::key::RsaBits::B2048,
        }
    }
}

/// `[vault]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaultSettings {
    /// Vault / OpenBao address, e.g. `https://vault.internal:8200`.
    pub addr: Option<String>,
    /// A Vault token (or use AppRole).
    pub token: Option<Secret>,
    /// AppRole role id (with `secret_id`), instead of a token.
    pub role_id: Option<String>,
    /// AppRole secret id.
    pub secret_id: Option<Secret>,
    /// Mount path of the AppRole auth method.
    pub approle_mount: String,
    /// PEM file of the CA that signed Vault's certificate (added to the system roots).
    pub ca_cert: Option<PathBuf>,
    /// Timeout of one request to Vault.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// KV v2 mount (`vault-kv`).
    pub kv_mount: String,
    /// Secret path under the mount (`vault-kv`).
    pub kv_path: String,
    /// Field of the secret holding the PEM private key (`vault-kv`).
    pub kv_field: String,
    /// Transit mount (`vault-transit`).
    pub transit_mount: String,
    /// Transit key name (`vault-transit`).
    pub transit_key: String,
}

impl Default for VaultSettings {
    fn default() -> Self {
        Self {
            addr: None,
            token: None,
            role_id: None,
            secret_id: None,
            approle_mount: "approle".into(),
            ca_cert: None,
            timeout: Duration::from_secs(5),
            kv_mount: "secret".into(),
            kv_path: "tessera/signing-key".into(),
            kv_field: "private_key".into(),
            transit_mount: "transit".into(),
            transit_key: "tessera".into(),
        }
    }
}
