//! The audit trail: security-relevant events written to the store (`audit_events`), read
//! with `tessera audit tail`, pruned after `[audit] retention`.
//!
//! Recording never fails the operation it describes: a store error is logged instead.
//! Events carry ids, names and addresses, never passwords or tokens.

use crate::store::{AuditEvent, Store};
use std::net::IpAddr;

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
        self.0.subject = Some(subject.to_string());
        self
    }

    /// From where.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.0.ip = Some(ip.to_string());
        self
    }

    /// A short note (never a secret).
    pub fn detail(mut self, detail: impl ToString) -> Self {
        self.0.detail = Some(detail.to_string());
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
