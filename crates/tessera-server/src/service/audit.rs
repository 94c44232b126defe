//! The audit trail: security-relevant events written to the store (`audit_events`), read
//! with `tessera audit tail`, pruned after `[audit] retention`.
//!
//! Recording never fails the operation it describes: a store error is logged instead.
//! Events carry ids, names and addresses, never passwords or tokens.

use crate::store::{AuditEvent, Store};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The most characters an event keeps of a value from outside (a login id as typed, a
/// detail): Django's username length. Longer values are cut, marked with `…`.
pub const MAX_VALUE_CHARS: usize = 150;

fn capped(value: &impl ToString) -> String {
    let mut text = value.to_string();
    if let Some((at, _)) = text.char_indices().nth(MAX_VALUE_CHARS) {
        text.truncate(at);
        text.push('…');
    }
    text
}

/// Remembers which repeated events were recorded lately, so that an unauthenticated flood
/// (throttled logins, answered before any hashing) writes one event per key and period,
/// not one per request. Per process and bounded: when full it forgets everything.
#[derive(Debug, Default)]
pub struct Sampler(Mutex<HashMap<String, i64>>);

/// Keys a [`Sampler`] remembers before it starts again.
const SAMPLER_KEYS: usize = 10_000;

impl Sampler {
    /// Whether an event for `key` should be recorded at `now`: the first time, and again
    /// once `period` seconds have passed since the last one recorded.
    pub fn first_in(&self, key: &str, now: i64, period: i64) -> bool {
        let key = capped(&key);
        let Ok(mut seen) = self.0.lock() else {
            return true;
        };
        match seen.get(&key) {
            Some(&at) if now.saturating_sub(at) < period => false,
            _ => {
                if seen.len() >= SAMPLER_KEYS {
                    seen.clear();
                }
                seen.insert(key, now);
                true
            }
        }
    }
}

/// Who did an action the trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user (an admin through the API, or the user themselves): their id.
    User(i64),
    /// The operator, through the `tessera` command line.
    Cli,
    /// Nobody signed in: a sign-up, or the holder of a link mailed to the account.
    SelfService,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::User(id) => write!(f, "{id}"),
            Self::Cli => f.write_str("cli"),
            Self::SelfService => f.write_str("self-service"),
        }
    }
}

/// An event being described.
#[derive(Debug, Clone)]
#[must_use = "an audit event does nothing until recorded"]
pub struct Event(AuditEvent);

/// Starts an event of `kind`.
pub fn event(kind: &str) -> Event {
    Event(AuditEvent {
        id: 0,
        at: 0,
        kind: kind.to_owned(),
        actor: None,
        subject: None,
        ip: None,
        detail: None,
    })
}

impl Event {
    /// Who did it.
    pub fn actor(mut self, actor: impl ToString) -> Self {
        self.0.actor = Some(actor.to_string());
        self
    }

    /// Who did it, when known (an admin through the API; the CLI has no actor).
    pub fn actor_opt(mut self, actor: Option<impl ToString>) -> Self {
        self.0.actor = actor.map(|a| a.to_string());
        self
    }

    /// What it was done to.
    pub fn subject(mut self, subject: impl ToString) -> Self {
        self.0.subject = Some(capped(&subject));
        self
    }

    /// From where.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.0.ip = Some(ip.to_string());
        self
    }

    /// A short note (never a secret).
    pub fn detail(mut self, detail: impl ToString) -> Self {
        self.0.detail = Some(capped(&detail));
        self
    }

    /// Writes it at `now`; a failure is logged, not returned.
    pub async fn record(mut self, store: &dyn Store, now: i64) {
        self.0.at = now;
        if let Err(e) = store.record_audit(&self.0).await {
            tracing::warn!(error = %e, kind = %self.0.kind, "could not record an audit event");
        }
    }
}

/// The most events one page of [`page`] holds.
pub const MAX_PAGE: i64 = 1000;

/// Up to `limit` events (1 to [`MAX_PAGE`]) after the event `after`, oldest first.
///
/// # Errors
/// The store's error.
pub async fn page(
    store: &dyn Store,
    after: i64,
    limit: i64,
) -> crate::store::StoreResult<Vec<AuditEvent>> {
    store.audit_events(after, limit.clamp(1, MAX_PAGE)).await
}
