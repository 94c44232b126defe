//! A small client for the parts of Vault / OpenBao's HTTP API Tessera uses: token or
//! AppRole login, KV v2 (read a version, list versions, write), and transit (read the
//! public keys of every version, sign, rotate).
//!
//! Tokens obtained by AppRole are renewed by logging in again before they expire, and
//! once more after a 403. No secret is logged.
//!
//! Over 500 lines as one concept: one HTTP client for one server (login, KV v2, transit),
//! sharing its token renewal and error mapping.

use crate::config::VaultSettings;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tessera_proto::Secret;
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// Talking to Vault failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Vault could not be reached or did not answer in time.
    #[error("Vault is unreachable: {0}")]
    Unreachable(String),
    /// Vault refused the request (status and its error messages).
    #[error("Vault answered {status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Vault's `errors`.
        message: String,
    },
    /// The answer is not what the API documents, or the configuration is unusable.
    #[error("Vault: {0}")]
    Invalid(String),
}

impl VaultError {
    /// Whether Vault itself is unavailable (network, timeout, sealed, 5xx): issuing answers
    /// 503 rather than 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Refused { status, .. } => *status >= 500,
            Self::Invalid(_) => false,
        }
    }
}

enum Auth {
    Token(Secret),
    AppRole {
        mount: String,
        role_id: String,
        secret_id: Secret,
    },
}

/// A logged-in token and when to log in again.
struct Session {
    token: Secret,
    renew_at: Option<Instant>,
}

/// A Vault / OpenBao client.
pub struct Vault {
    http: reqwest::Client,
    addr: String,
    auth: Auth,
    session: Mutex<Option<Session>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("addr", &self.addr).finish()
    }
}

/// One version of a KV v2 secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvVersion {
    /// Version number.
    pub version: u64,
    /// When it was written (Unix seconds).
    pub created: i64,
    /// Deleted or destroyed: not readable.
    pub gone: bool,
}

/// One version of a transit key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitVersion {
    /// Version number.
    pub version: u64,
    /// When it was created (Unix seconds).
    pub created: i64,
    /// The public key: SubjectPublicKeyInfo DER, or raw for Ed25519.
    pub public_der: Vec<u8>,
}

/// A transit key as Vault describes it.
#[derive(Debug, Clone)]
pub struct TransitKey {
    /// Vault's key type (`rsa-2048`, `ecdsa-p256`, `ed25519`, …).
    pub key_type: String,
    /// Versions still usable for signing, oldest first.
    pub versions: Vec<TransitVersion>,
}

fn unix(s: &str) -> Result<i64, VaultError> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| VaultError::Invalid(format!("bad time {s:?}")))
}

impl Vault {
    /// A client for `settings` (nothing is sent yet).
    ///
    /// # Errors
    /// [`VaultError::Invalid`] for a missing address or credentials, or an unreadable CA file.
    pub fn new(settings: &VaultSettings) -> Result<Self, VaultError> {
        // reqwest's rustls has no provider of its own here: use aws-lc-rs (already linked).
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let addr = settings
            .addr
            .clone()
            .ok_or_else(|| VaultError::Invalid("vault.addr is not set".into()))?
            .trim_end_matches('/')
            .to_owned();
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &settings.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                VaultError::Invalid(format!("vault.ca_cert {}: {e}", path.display()))
            })?;
            let ca = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| VaultError::Invalid(format!("vault.ca_cert: {e}")))?;
            builder = builder.add_root_certificate(ca);
        }
        let http = builder
            .build()
            .map_err(|e| VaultError::Invalid(e.to_string()))?;
        let auth = match (&settings.token, &settings.role_id, &settings.secret_id) {
            (Some(token), _, _) => Auth::Token(token.clone()),
            (None, Some(role_id), Some(secret_id)) => Auth::AppRole {
                mount: settings.approle_mount.trim_matches('/').to_owned(),
                role_id: role_id.clone(),
                secret_id: secret_id.clone(),
            },
            _ => {
                return Err(VaultError::Invalid(
                    "set vault.token, or vault.role_id and vault.secret_id".into(),
                ));
            }
        };
        Ok(Self {
            http,
            addr,
            auth,
            session: Mutex::new(None),
        })
    }

    /// A token to send: the configured one, or an AppRole login's (logging in when there
    /// is none yet or it is about to expire).
    async fn token(&self, fresh: bool) -> Result<Secret, VaultError> {
        let mut session = self.session.lock().await;
        let usable = session
            .as_ref()
            .filter(|s| !fresh && s.renew_at.is_none_or(|at| Instant::now() < at));
        if let Some(s) = usable {
            return Ok(s.token.clone());
        }
        let new = match &self.auth {
            Auth::Token(token) => Session {
                token: token.clone(),
                renew_at: None,
            },
            Auth::AppRole {
                mount,
                role_id,
                secret_id,
            } => self.login(mount, role_id, secret_id).await?,
        };
        let token = new.token.clone();
        *session = Some(new);
        Ok(token)
    }

    async fn login(
        &self,
        mount: &str,
        role_id: &str,
        secret_id: &Secret,
    ) -> Result<Session, VaultError> {
        let body = json!({"role_id": role_id, "secret_id": secret_id.expose()});
        let answer = self
            .send(
                self.http
                    .post(format!("{}/v1/auth/{mount}/login", self.addr))
                    .json(&body),
            )
            .await?;
        let token = answer["auth"]["client_token"]
            .as_str()
            .ok_or_else(|| VaultError::Invalid("AppRole login without a token".into()))?;
        let ttl = answer["auth"]["lease_duration"].as_u64().unwrap_or(0);
        tracing::info!(ttl, "logged in to Vault with AppRole");
        Ok(Session {
            token: Secret::new(token),
            // Log in again at two thirds of the lease (0: the token does not expire).
            renew_at: (ttl > 0).then(|| Instant::now() + Duration::from_secs(ttl * 2 / 3)),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, VaultError> {
        let res = request
            .send()
            .await
            .map_err(|e| VaultError::Unreachable(without_url(&e)))?;
        let status = res.status().as_u16();
        let body: Value = if status == 204 {
            Value::Null
        } else {
            res.json()
                .await
                .map_err(|e| VaultError::Unreachable(without_url(&e)))?
        };
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let message = body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        Err(VaultError::Refused { status, message })
    }

    /// A request with the token; after a 403 with an AppRole token, logs in once more.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, VaultError> {
        for fresh in [false, true] {
            let token = self.token(fresh).await?;
            let mut request = self
                .http
                .request(method.clone(), format!("{}/v1/{path}", self.addr))
                .header("X-Vault-Token", token.expose());
            if let Some(b) = body {
                request = request.json(b);
            }
            match self.send(request).await {
                Err(VaultError::Refused { status: 403, .. })
                    if !fresh && matches!(self.auth, Auth::AppRole { .. }) => {}
                other => return other,
            }
        }
        Err(VaultError::Refused {
            status: 403,
            message: "permission denied".into(),
        })
    }

    /// Versions of the KV v2 secret at `mount/path`, oldest first (empty when it does not
    /// exist).
    ///
    /// # Errors
    /// [`VaultError`].
    pub async fn kv_versions(&self, mount: &str, path: &str) -> Result<Vec<KvVersion>, VaultError> {
        let answer = match self
            .call(
                reqwest::Method::GET,
                &format!("{mount}/metadata/{path}"),
                None,
            )
            .await
        {
            Err(VaultError::Refused { status: 404, .. }) => return Ok(Vec::new()),
            other => other?,
        };
        let versions = answer["data"]["versions"]
            .as_object()
            .ok_or_else(|| VaultError::Invalid("KV metadata without versions".into()))?;
        let mut out = Vec::new();
        for (number, v) in versions {
            let version = number
                .parse()
                .map_err(|_| VaultError::Invalid("bad KV version".into()))?;
            let deleted = v["deletion_time"].as_str().is_some_and(|t| !t.is_empty());
            out.push(KvVersion {
                version,
                created: unix(v["created_time"].as_str().unwrap_or_default())?,
                gone: deleted || v["destroyed"].as_bool().unwrap_or(false),
            });
        }
        out.sort_by_key(|v| v.version);
        Ok(out)
    }

    /// The string field `field` of version `version` of the KV v2 secret.
    ///
    /// # Errors
    /// [`VaultError`]; [`VaultError::Invalid`] when the field is missing.
    pub async fn kv_read(
        &self,
        mount: &str,
        path: &str,
        version: u64,
        field: &str,
    ) -> Result<(Secret, Option<String>), VaultError> {
        let answer = self
            .call(
                reqwest::Method::GET,
                &format!("{mount}/data/{path}?version={version}"),
                None,
            )
            .await?;
        let data = &answer["data"]["data"];
        let value = data[field].as_str().ok_or_else(|| {
            VaultError::Invalid(format!("{mount}/{path} v{version} has no field {field:?}"))
        })?;
        Ok((Secret::new(value), data["alg"].as_str().map(str::to_owned)))
    }

    /// Writes a new version of the KV v2 secret with `field` (and `alg`). Returns the
    /// version number.
    ///
    /// # Errors
    /// [`VaultError`].
    pub async fn kv_write(
        &self,
        mount: &str,
        path: &str,
        field: &str,
        value: &Secret,
        alg: &str,
    ) -> Result<u64, VaultError> {
        let body = json!({"data": {field: value.expose(), "alg": alg}});
        let answer = self
            .call(
                reqwest::Method::POST,
                &format!("{mount}/data/{path}"),
                Some(&body),
            )
            .await?;
        answer["data"]["version"]
            .as_u64()
            .ok_or_else(|| VaultError::Invalid("KV write without a version".into()))
    }

    /// Soft-deletes versions of the KV v2 secret (they stop being readable, and leave the
    /// JWKS at the next reload).
    ///
    /// # Errors
    /// [`VaultError`].
    pub async fn kv_delete_versions(
        &self,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), VaultError> {
        self.call(
            reqwest::Method::POST,
            &format!("{mount}/delete/{path}"),
            Some(&json!({ "versions": versions })),
        )
        .await
        .map(|_| ())
    }

    /// The transit key `name`: its type and the public key of every version that can
    /// still sign.
    ///
    /// # Errors
    /// [`VaultError`].
    pub async fn transit_key(&self, mount: &str, name: &str) -> Result<TransitKey, VaultError> {
        #[derive(Deserialize)]
        struct Version {
            creation_time: String,
            public_key: String,
        }
        let answer = self
            .call(reqwest::Method::GET, &format!("{mount}/keys/{name}"), None)
            .await?;
        let data = &answer["data"];
        let key_type = data["type"].as_str().unwrap_or_default().to_owned();
        let min = data["min_available_version"].as_u64().unwrap_or(0);
        let versions: std::collections::BTreeMap<String, Version> =
            serde_json::from_value(data["keys"].clone())
                .map_err(|e| VaultError::Invalid(format!("transit keys: {e}")))?;
        let mut out = Vec::new();
        for (number, v) in versions {
            let version: u64 = number
                .parse()
                .map_err(|_| VaultError::Invalid("bad transit version".into()))?;
            if version < min {
                continue;
            }
            out.push(TransitVersion {
                version,
                created: unix(&v.creation_time)?,
                public_der: public_der(&v.public_key)?,
            });
        }
        out.sort_by_key(|v| v.version);
        Ok(TransitKey {
            key_type,
            versions: out,
        })
    }

    /// Signs `input` with version `version` of transit key `name`. `pss` selects RSA-PSS
    /// (salt length = hash length, as JWS PS256 needs). Returns the raw signature (`r || s`
    /// for ECDSA).
    ///
    /// # Errors
    /// [`VaultError`].
    pub async fn transit_sign(
        &self,
        mount: &str,
        name: &str,
        version: u64,
        input: &[u8],
        scheme: TransitScheme,
    ) -> Result<Vec<u8>, VaultError> {
        let mut body = json!({"input": STANDARD.encode(input), "key_version": version});
        let path = match scheme {
            TransitScheme::Pkcs1 => {
                body["signature_algorithm"] = json!("pkcs1v15");
                format!("{mount}/sign/{name}/sha2-256")
            }
            TransitScheme::Pss => {
                body["signature_algorithm"] = json!("pss");
                body["salt_length"] = json!("hash");
                format!("{mount}/sign/{name}/sha2-256")
            }
            TransitScheme::EcdsaJws => {
                body["marshaling_algorithm"] = json!("jws");
                format!("{mount}/sign/{name}/sha2-256")
            }
            TransitScheme::Ed25519 => format!("{mount}/sign/{name}"),
        };
        let answer = self.call(reqwest::Method::POST, &path, Some(&body)).await?;
        let signature = answer["data"]["signature"]
            .as_str()
            .ok_or_else(|| VaultError::Invalid("transit sign without a signature".into()))?;
        // `vault:v<N>:<base64>`; base64url without padding for the JWS marshaling.
        let encoded = signature
            .strip_prefix(&format!("vault:v{version}:"))
            .ok_or_else(|| VaultError::Invalid("signed by an unexpected key version".into()))?;
        STANDARD
            .decode(encoded)
            .or_else(|_| URL_SAFE_NO_PAD.decode(encoded))
            .map_err(|_| VaultError::Invalid("transit signature is not base64".into()))
    }

    /// Creates transit key `name` of `key_type` if it does not exist (for `keys
    /// push-vault` and tests).
    ///
    /// # Errors
    /// [`VaultError`].
    pub async fn transit_create(
        &self,
        mount: &str,
        name: &str,
        key_type: &str,
    ) -> Result<(), VaultError> {
        self.call(
            reqwest::Method::POST,
            &format!("{mount}/keys/{name}"),
            Some(&json!({"type": key_type})),
        )
        .await
        .map(|_| ())
    }

    /// Adds a version to transit key `name`.
    ///
    /// # Errors
    /// [`VaultError`].
    pub async fn transit_rotate(&self, mount: &str, name: &str) -> Result<(), VaultError> {
        self.call(
            reqwest::Method::POST,
            &format!("{mount}/keys/{name}/rotate"),
            Some(&json!({})),
        )
        .await
        .map(|_| ())
    }
}

/// How transit signs for a JWS algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitScheme {
    /// RS256.
    Pkcs1,
    /// PS256.
    Pss,
    /// ES256 (`r || s`).
    EcdsaJws,
    /// EdDSA.
    Ed25519,
}

/// The DER of a transit public key: a PEM `PUBLIC KEY`, or raw base64 (Ed25519).
fn public_der(text: &str) -> Result<Vec<u8>, VaultError> {
    let text = text.trim();
    let body = match text.strip_prefix("-----BEGIN PUBLIC KEY-----") {
        Some(rest) => rest
            .strip_suffix("-----END PUBLIC KEY-----")
            .ok_or_else(|| VaultError::Invalid("bad PEM public key".into()))?
            .split_whitespace()
            .collect::<String>(),
        None => text.to_owned(),
    };
    STANDARD
        .decode(body)
        .map_err(|_| VaultError::Invalid("public key is not base64".into()))
}

/// A reqwest error without the URL (which is not secret, but noisy).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.without_url_ref().to_string()
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut s = self.to_string();
        if let Some(url) = self.url() {
            s = s.replace(url.as_str(), "…");
        }
        s
    }
}
