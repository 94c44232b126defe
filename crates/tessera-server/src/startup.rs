//! Building and running the server: `Application::build(settings)` → `port()` →
//! `run_until_stopped()`. Tests build it on port 0.

use crate::config::KeyBackend;
use crate::config::{ConfigError, Settings};
use crate::http::conn_limit::LimitAcceptor;
use crate::http::jwks::JWKS_MAX_AGE;
use crate::keys::{Keyring, KeyringError, LiveKeys, MasterKey, VaultKeys};
use crate::service::key_schedule::{self, Schedule};
use crate::service::password::{HashError, PasswordHasher};
use crate::state::{AppState, Inner};
use crate::store::{self, StoreError};
use std::net::SocketAddr;
use std::sync::Arc;
use tessera_token::{Clock, SystemClock, Validation};
use tokio::net::TcpListener;

/// The server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Keys could not be loaded.
    #[error(transparent)]
    Keys(#[from] KeyringError),
    /// The TLS certificate or key could not be read.
    #[error("TLS certificate {path}: {source}")]
    Tls {
        /// The certificate file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The password hasher could not be built.
    #[error(transparent)]
    Hasher(#[from] HashError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A built server, bound to its port, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

impl Application {
    /// Builds the server with the system clock.
    ///
    /// # Errors
    /// [`StartError`].
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the server with the given clock (tests use a fixed one).
    ///
    /// # Errors
    /// [`StartError`].
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        settings.validate()?;
        ensure_data_dir(&settings.data_dir).map_err(|source| StartError::DataDir {
            path: settings.data_dir.clone(),
            source,
        })?;
        let store = store::connect(&settings.database_url(), &settings.database).await?;
        let stored = store.signing_keys().await?;
        let master = MasterKey::obtain(
            settings.master_key.as_ref(),
            &settings.data_dir,
            !stored.is_empty(),
        )
        .map_err(KeyringError::from)?;
        let alg = settings.tokens.algorithm;
        let bits = settings.keys.rsa_size();
        let keys = match settings.keys.backend {
            KeyBackend::Local => {
                let keyring =
                    Keyring::load_or_init(store.as_ref(), &master, alg, bits, clock.unix()).await?;
                LiveKeys::new(master, alg, bits, keyring)
            }
            backend => {
                let vault = vault_keys(&settings, backend)?;
                let now = clock.unix();
                let mac = Keyring::load_mac(store.as_ref(), &master, now).await?;
                let view = vault.view(now).await.map_err(KeyringError::from)?;
                tracing::info!(kid = view.signer.kid(), "signing keys are in Vault");
                LiveKeys::with_vault(master, alg, Keyring::from_vault(view, Arc::new(mac)), vault)
            }
        };
        let hasher = PasswordHasher::new(&settings.passwords)?;
        let legacy_keys = legacy_keys(&settings)?;
        let throttle_redis = match &settings.throttle.redis_url {
            Some(url) => Some(
                crate::service::throttle::redis::RedisCounters::connect(
                    url.expose(),
                    &settings.throttle.redis_prefix,
                )
                .await
                .map_err(|e| {
                    StartError::Config(ConfigError::Invalid {
                        key: "throttle.redis_url",
                        reason: format!("Redis is unreachable: {e}"),
                    })
                })?,
            ),
            None => None,
        };
        let mailer = crate::service::mail::Mailer::from_settings(&settings.mail).map_err(|e| {
            StartError::Config(ConfigError::Invalid {
                key: "mail.smtp_url",
                reason: e.to_string(),
            })
        })?;
        let listener =
            TcpListener::bind(settings.bind)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.bind,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.bind,
            source,
        })?;
        let tls = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => {
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .map_err(|source| StartError::Tls {
                        path: cert.clone(),
                        source,
                    })?;
                Some(config)
            }
            _ => None,
        };
        let issuer = settings.issuer_for(addr);
        let mut validation = Validation::new(issuer.clone(), settings.tokens.audience.clone());
        validation.leeway = crate::domain::time::seconds(settings.tokens.leeway);
        let webauthn = crate::service::authn::passkey::relying_party(&settings.mfa, &issuer)
            .map(std::sync::Arc::new);
        let state = AppState::new(Inner {
            webauthn,
            settings,
            issuer,
            store,
            keys,
            hasher,
            clock,
            validation,
            metrics: crate::metrics::Metrics::default(),
            mailer,
            legacy_keys,
            discovery: crate::service::sso::discovery::DiscoveryCache::default(),
            throttle_audit: crate::service::audit::Sampler::default(),
            throttle_recent: crate::service::throttle::Recent::default(),
            throttle_redis,
            logout_wake: tokio::sync::Notify::new(),
            client_keys: crate::service::sso::request_object::ClientKeyCache::default(),
        });
        Ok(Self {
            listener,
            addr,
            state,
            tls,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (tests use it to seed data through the services).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests.
    ///
    /// # Errors
    /// An I/O error of the listener.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes.
    ///
    /// # Errors
    /// An I/O error of the listener.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let reloader = tokio::spawn(reload_keys(self.state.clone()));
        let pruner = tokio::spawn(prune_expired(self.state.clone()));
        let logouts = tokio::spawn(crate::service::sso::backchannel::run(self.state.clone()));
        let header_timeout = self.state.settings.header_read_timeout;
        let limit = self.state.settings.connection_limit;
        let app = crate::http::router(self.state);
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            stop.await;
            stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        });
        let listener = self.listener.into_std()?;
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let served = match self.tls {
            None => {
                let mut server = axum_server::from_tcp(listener)?
                    .acceptor(LimitAcceptor::new(
                        axum_server::accept::DefaultAcceptor,
                        limit,
                        header_timeout,
                    ))
                    .handle(handle);
                slow_loris_guard(server.http_builder(), header_timeout);
                server.serve(service).await
            }
            Some(config) => {
                let mut server = axum_server::from_tcp_rustls(listener, config)?
                    .map(|tls| {
                        tls.acceptor(LimitAcceptor::new(
                            axum_server::accept::DefaultAcceptor,
                            limit,
                            header_timeout,
                        ))
                    })
                    .handle(handle);
                slow_loris_guard(server.http_builder(), header_timeout);
                server.serve(service).await
            }
        };
        reloader.abort();
        pruner.abort();
        logouts.abort();
        served
    }
}

/// Re-reads the signing keys every `database.key_reload_interval` and runs the key
/// schedule: prunes expired retired keys, stages a key when `keys.rotate_every` is due,
/// activates staged keys once every JWKS cache has had time to see them (the advertised
/// max-age plus one reload interval). A store failure keeps the current keys and is
/// retried at the next tick.
async fn reload_keys(state: AppState) {
    let interval = state.settings.database.key_reload_interval;
    let publish_delay = i64::try_from(JWKS_MAX_AGE + interval.as_secs()).unwrap_or(i64::MAX);
    let tokens = &state.settings.tokens;
    let retire_after = crate::domain::time::seconds(tokens.access_lifetime + tokens.leeway);
    let rotate_every = Some(state.settings.keys.rotate_every)
        .filter(|d| !d.is_zero())
        .map(crate::domain::time::seconds);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let now = state.clock.unix();
        let reloaded = key_schedule::run_once(
            &state.keys,
            state.store.as_ref(),
            Schedule {
                publish_delay,
                retire_after: now.saturating_add(retire_after),
                rotate_every,
            },
            now,
        )
        .await;
        if let Err(e) = reloaded {
            tracing::warn!(error = %e, "could not reload signing keys; keeping the current ones");
        }
    }
}

/// The most request-header bytes one request may send (HTTP/1 read buffer while the
/// headers arrive; HTTP/2 header list): past it, 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Closes HTTP/1 connections whose request headers do not arrive within `timeout`, and
/// answers 431 to requests whose headers exceed [`MAX_HEADER_BYTES`] (hyper's own answer).
fn slow_loris_guard(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    timeout: std::time::Duration,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(100);
    // HTTP/2: few streams per connection (each may buffer a 64 KiB body), and a ping
    // every header-read timeout that must be answered within another, so a connection
    // whose peer stopped answering is closed.
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX))
        .max_concurrent_streams(16)
        .keep_alive_interval(Some(timeout))
        .keep_alive_timeout(timeout);
}

/// Removes expired rows every `database.prune_interval`, so the database does not grow
/// without bound. Replicas doing it at once delete the same rows once.
async fn prune_expired(state: AppState) {
    let mut ticker = tokio::time::interval(state.settings.database.prune_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let now = state.clock.unix();
        let window = crate::domain::time::seconds(state.settings.throttle.window);
        match state
            .store
            .prune_expired(now, now.saturating_sub(window))
            .await
        {
            Ok(removed) => {
                let total: u64 = removed.iter().map(|(_, n)| n).sum();
                if total > 0 {
                    tracing::info!(total, ?removed, "removed expired rows");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not remove expired rows"),
        }
        let retention = crate::domain::time::seconds(state.settings.audit_retention);
        if let Err(e) = state.store.prune_audit(now.saturating_sub(retention)).await {
            tracing::warn!(error = %e, "could not remove old audit events");
        }
    }
}

/// The Vault key source for `backend`, scheduled as the reload task runs it: a new
/// version signs once the JWKS max-age plus two reload intervals have passed since Vault
/// created it (replicas see it up to one interval apart), and an old version stays
/// published for the access-token lifetime plus leeway after that.
///
/// # Errors
/// [`KeyringError::Vault`] for unusable `[vault]` settings.
pub fn vault_keys(settings: &Settings, backend: KeyBackend) -> Result<VaultKeys, KeyringError> {
    let interval = settings.database.key_reload_interval.as_secs();
    let publish_delay = i64::try_from(JWKS_MAX_AGE + 2 * interval).unwrap_or(i64::MAX);
    let tokens = &settings.tokens;
    let retire_window = crate::domain::time::seconds(tokens.access_lifetime + tokens.leeway);
    Ok(VaultKeys::new(
        backend,
        &settings.vault,
        tokens.algorithm,
        publish_delay,
        retire_window,
    )?)
}

/// Creates the data directory if needed, readable by its owner only (it holds password
/// hashes, sealed keys and the master key file).
///
/// # Errors
/// The I/O error.
pub fn ensure_data_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// `[tokens] legacy_public_keys`: each file a PEM RS256 public key.
fn legacy_keys(settings: &Settings) -> Result<Vec<tessera_token::PublicKey>, StartError> {
    settings
        .tokens
        .legacy_public_keys
        .iter()
        .map(|path| {
            let invalid = |reason: String| {
                StartError::Config(ConfigError::Invalid {
                    key: "tokens.legacy_public_keys",
                    reason: format!("{}: {reason}", path.display()),
                })
            };
            let pem = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
            tessera_token::PublicKey::from_public_pem(tessera_token::Algorithm::RS256, &pem)
                .map_err(|e| invalid(e.to_string()))
        })
        .collect()
}
