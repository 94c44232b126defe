//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): delivers the logout
//! tokens the store queued, in the transaction that ended the sessions, for each client
//! that got tokens through one of them.
//!
//! Delivery runs beside the requests, never in them: a logout answers at once whatever
//! the clients do. Each attempt signs a fresh logout token (new `iat` and `jti`) and POSTs
//! it; a 2xx answer ends the delivery, a refusal (4xx but 408 and 429) too, with a warning
//! and an audit event; anything else (a network error, a timeout, 5xx, 408, 429) is tried
//! again after 2, 4, 8, … seconds (at most five minutes apart) until an hour has passed
//! since the session ended. The queue is in the database: a restart, or another replica,
//! picks it up; a lease keeps two replicas from sending the same attempt.

use crate::state::AppState;
use crate::store::LogoutDelivery;
use std::time::Duration;
use tessera_token::oidc::{LOGOUT_TYP, LogoutClaims};

/// How often the queue is looked at when nothing wakes the worker.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long after the session ended a delivery is still tried (seconds).
pub const GIVE_UP_AFTER: i64 = 3600;
/// The longest wait between two attempts (seconds).
pub const MAX_BACKOFF: i64 = 300;
/// How long one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// An attempt that never reported (the process died) is tried again after this (seconds).
const LEASE: i64 = 60;
/// Deliveries taken per round.
const BATCH: i64 = 64;
/// Deliveries of one client per round: a client with a flood of logouts, or an endpoint
/// that never answers, takes at most this many of a round's places.
const PER_CLIENT: i64 = 4;
/// Deliveries in flight at once.
const IN_FLIGHT: usize = 16;

/// How one attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The client answered 2xx.
    Delivered,
    /// The client refused the token (4xx but 408 and 429), or is gone: no retry helps.
    Refused,
    /// It may go through later.
    Failed,
}

/// Delivers queued logout tokens until the process stops: every [`POLL_INTERVAL`], and at
/// once when a logout in this process wakes it.
pub async fn run(state: AppState) {
    let http = match crate::service::outbound::http_client(
        &state,
        "tessera-backchannel-logout",
        ATTEMPT_TIMEOUT,
    ) {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout disabled: no HTTP client");
            return;
        }
    };
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = state.logout_wake.notified() => {}
        }
        // Rounds back to back while they come full: a backlog drains at the endpoints'
        // pace, not one round a second.
        while deliver_due(&state, &http).await {}
    }
}

/// One round: the due deliveries (at most [`PER_CLIENT`] of each client) attempted once,
/// a few at a time. Returns whether the round was full (more may be due).
async fn deliver_due(state: &AppState, http: &reqwest::Client) -> bool {
    let now = state.clock.unix();
    let due = match state
        .store
        .due_logout_deliveries(now, PER_CLIENT, BATCH)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the back-channel logout queue");
            return false;
        }
    };
    let full = i64::try_from(due.len()).unwrap_or(i64::MAX) >= BATCH;
    let mut running = tokio::task::JoinSet::new();
    for delivery in due {
        while running.len() >= IN_FLIGHT {
            running.join_next().await;
        }
        let (state, http) = (state.clone(), http.clone());
        running.spawn(async move { attempt(&state, &http, delivery).await });
    }
    while running.join_next().await.is_some() {}
    full
}

/// Takes the delivery (unless another replica did), tries it once, and records the
/// outcome: removed, or due again after the back-off.
async fn attempt(state: &AppState, http: &reqwest::Client, d: LogoutDelivery) {
    let store = state.store.as_ref();
    let now = state.clock.unix();
    if now.saturating_sub(d.created_at) > GIVE_UP_AFTER {
        give_up(state, &d, "retries ran out").await;
        return;
    }
    match store
        .lease_logout_delivery(d.id, d.next_attempt_at, now.saturating_add(LEASE))
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "could not take a back-channel logout");
            return;
        }
    }
    let outcome = send(state, http, &d).await;
    let recorded = match outcome {
        Outcome::Delivered => {
            tracing::debug!(client_id = %d.client_id, "back-channel logout delivered");
            store.finish_logout_delivery(d.id).await
        }
        Outcome::Refused => {
            give_up(state, &d, "the client refused it").await;
            Ok(())
        }
        Outcome::Failed => {
            // Counted from the end of this attempt (a timeout may have taken seconds).
            let next = state
                .clock
                .unix()
                .saturating_add(backoff(d.attempts.saturating_add(1)));
            store.retry_logout_delivery(d.id, next).await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "could not record a back-channel logout attempt");
    }
}

/// Seconds before attempt `n + 1`: 2, 4, 8, … up to [`MAX_BACKOFF`].
fn backoff(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 16)).unwrap_or(16);
    2_i64.saturating_pow(exp).min(MAX_BACKOFF)
}

/// Signs a fresh logout token for the delivery's client and POSTs it (§2.5).
async fn send(state: &AppState, http: &reqwest::Client, d: &LogoutDelivery) -> Outcome {
    if crate::service::outbound::refused_target(state, &d.uri) {
        tracing::warn!(client_id = %d.client_id, "back-channel logout URI is a loopback address; not sent");
        return Outcome::Refused;
    }
    let client = match state.store.client(&d.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Outcome::Refused,
        Err(_) => return Outcome::Failed,
    };
    let Ok(jti) = tessera_token::claims::new_jti() else {
        return Outcome::Failed;
    };
    let claims = LogoutClaims::new(
        state.issuer.clone(),
        client.client_id.clone(),
        d.sub.clone(),
        d.sid.clone(),
        state.clock.unix(),
        jti,
    );
    let alg = crate::service::token::id_token_alg(state, &client);
    let ring = state.keys.current();
    // The client's ID-token algorithm when a key of it is active, else the server's own
    // (a logout is better delivered in another published algorithm than not at all).
    let signer = ring.signer_for(alg).unwrap_or_else(|| {
        tracing::warn!(client_id = %d.client_id, %alg, "no active key of the client's algorithm; logout token signed with the default key");
        ring.signer()
    });
    let token = match signer.sign(LOGOUT_TYP, &claims).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "could not sign a logout token");
            return Outcome::Failed;
        }
    };
    match http
        .post(&d.uri)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
    {
        Ok(res) if res.status().is_success() => Outcome::Delivered,
        Ok(res) if matches!(res.status().as_u16(), 408 | 429) || res.status().is_server_error() => {
            tracing::info!(client_id = %d.client_id, status = %res.status(), "back-channel logout not taken; will retry");
            Outcome::Failed
        }
        Ok(res) => {
            tracing::warn!(client_id = %d.client_id, status = %res.status(), "back-channel logout refused");
            Outcome::Refused
        }
        Err(e) => {
            tracing::info!(client_id = %d.client_id, error = %e, "back-channel logout failed; will retry");
            Outcome::Failed
        }
    }
}

/// Drops a delivery that will never go through, and says so.
async fn give_up(state: &AppState, d: &LogoutDelivery, why: &str) {
    tracing::warn!(client_id = %d.client_id, attempts = d.attempts, why, "back-channel logout given up");
    crate::service::audit::event("logout.backchannel_failed")
        .subject(&d.client_id)
        .detail(format!("{why} after {} attempts", d.attempts))
        .record(state.store.as_ref(), state.clock.unix())
        .await;
    if let Err(e) = state.store.finish_logout_delivery(d.id).await {
        tracing::warn!(error = %e, "could not drop a back-channel logout");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_up_to_five_minutes() {
        assert_eq!(
            (1..=10).map(backoff).collect::<Vec<_>>(),
            [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
        );
        assert_eq!(backoff(i64::MAX), 300);
        assert_eq!(backoff(0), 2);
    }
}
