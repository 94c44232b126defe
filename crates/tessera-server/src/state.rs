//! Everything a request needs, shared: `AppState(Arc<Inner>)`. No globals, so two servers
//! with different keys can run in one process.

use crate::config::Settings;
use crate::keys::LiveKeys;
use crate::service::password::PasswordHasher;
use crate::store::DynStore;
use std::ops::Deref;
use std::sync::Arc;
use tessera_token::{Clock, Validation};

/// Shared server state.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Inner {
    /// The validated configuration.
    pub settings: Settings,
    /// The issuer URL (`iss`), without a trailing slash.
    pub issuer: String,
    /// Storage.
    pub store: DynStore,
    /// Unsealed keys, swapped when the stored keys change.
    pub keys: LiveKeys,
    /// Argon2id with a bounded queue.
    pub hasher: PasswordHasher,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Token validation rules (issuer, audience, leeway).
    pub validation: Validation,
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
    /// `[throttle] redis_url`: the throttle counters in Redis.
    pub throttle_redis: Option<crate::service::throttle::redis::RedisCounters>,
    /// `[tokens] legacy_public_keys`, read at start.
    pub legacy_keys: Vec<tessera_token::PublicKey>,
    /// SMTP, when `[mail] smtp_url` is set.
    pub mailer: Option<crate::service::mail::Mailer>,
    /// The discovery document, serialised once per set of active algorithms.
    pub discovery: crate::service::sso::discovery::DiscoveryCache,
    /// Which throttled-login events were recorded lately (one per client address a minute;
    /// the metric counts every one).
    pub throttle_audit: crate::service::audit::Sampler,
    /// Failed logins this process recorded, for the throttle's second look (`recheck`).
    pub throttle_recent: crate::service::throttle::Recent,
    /// Wakes the back-channel logout worker when this process ended a session.
    pub logout_wake: tokio::sync::Notify,
    /// Request-object keys fetched from clients' `jwks_uri`s.
    pub client_keys: crate::service::sso::request_object::ClientKeyCache,
    /// The passkeys' relying party, when the issuer (or `[mfa] passkey_rp_id`) is a
    /// domain: browsers refuse an IP address as RP id.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
