//! Prometheus metrics (`GET /metrics`, OpenMetrics text), with `prometheus-client`.
//!
//! Counted where they happen: HTTP requests by route template, method and status, with a
//! latency histogram (a `route_layer`, so only matched routes); tokens issued by grant;
//! refresh-token reuse detections; failed and throttled logins. Read at scrape time:
//! the password-hash queue depth, the signing key's age, database pool use.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an HTTP request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route template (`/auth/users/{id}/`), never the raw path.
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// Status code.
    pub status: u16,
}

/// Labels of a latency observation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route template.
    pub route: String,
}

/// Labels of an issued token.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabels {
    /// `password` (the Django API and the OAuth password grant), `refresh_token`,
    /// `authorization_code`, `client_credentials`.
    pub grant: String,
}

/// Labels of a pool gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `open` or `idle`.
    pub state: String,
}

type HistogramMaker = fn() -> Histogram;

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Every metric of the server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests.
    pub requests: Family<RequestLabels, Counter>,
    /// HTTP latency in seconds.
    pub latency: Family<RouteLabels, Histogram, HistogramMaker>,
    /// Access tokens issued.
    pub tokens_issued: Family<GrantLabels, Counter>,
    /// Refresh tokens presented again (their family was revoked).
    pub refresh_reuse: Counter,
    /// Failed logins (wrong password, unknown or disabled account).
    pub login_failures: Counter,
    /// Self-service mails handed to the SMTP server.
    pub mails_sent: Counter,
    /// Login attempts refused by the throttle.
    pub login_throttled: Counter,
    /// Password hashes waiting for a slot.
    pub hash_queue: Gauge,
    /// Seconds since the signing key started signing.
    pub key_age: Gauge,
    /// Database connections.
    pub db_pool: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, HistogramMaker>::new_with_constructor(
            latency_histogram,
        );
        let tokens_issued = Family::<GrantLabels, Counter>::default();
        let refresh_reuse = Counter::default();
        let login_failures = Counter::default();
        let login_throttled = Counter::default();
        let mails_sent = Counter::default();
        let hash_queue = Gauge::default();
        let key_age = Gauge::default();
        let db_pool = Family::<PoolLabels, Gauge>::default();
        registry.register("http_requests", "HTTP requests", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register(
            "tokens_issued",
            "Access tokens issued, by grant",
            tokens_issued.clone(),
        );
        registry.register(
            "refresh_reuse_detections",
            "Refresh tokens presented again; their family was revoked",
            refresh_reuse.clone(),
        );
        registry.register("login_failures", "Failed logins", login_failures.clone());
        registry.register(
            "mails_sent",
            "Self-service mails handed to the SMTP server",
            mails_sent.clone(),
        );
        registry.register(
            "login_throttled",
            "Login attempts refused by the throttle",
            login_throttled.clone(),
        );
        registry.register(
            "password_hash_queue_depth",
            "Password hashes waiting for a slot",
            hash_queue.clone(),
        );
        registry.register(
            "signing_key_age_seconds",
            "Seconds since the signing key started signing",
            key_age.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections",
            db_pool.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            tokens_issued,
            refresh_reuse,
            login_failures,
            mails_sent,
            login_throttled,
            hash_queue,
            key_age,
            db_pool,
        }
    }
}

impl Metrics {
    /// Counts one issued access token of `grant`.
    pub fn issued(&self, grant: &str) {
        self.tokens_issued
            .get_or_create(&GrantLabels {
                grant: grant.to_owned(),
            })
            .inc();
    }

    /// The registry in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
