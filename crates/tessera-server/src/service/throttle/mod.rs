//! Login throttling: failed logins make further attempts wait, with a back-off that
//! doubles per failure past a free allowance (see [`crate::config::ThrottleSettings`]).
//!
//! Counters live in the store (`login_failures`), so every replica sees the same ones.
//! Keys are the account (its id when the login names one, whether by username or address,
//! in any case; an unknown id as typed, case- and width-folded, so the answer is the same
//! for accounts that do not exist), the client IP, and both together. A waiting attempt is
//! refused before any password hash is computed.
//!
//! Password spraying (many accounts, one password, one source) is watched by one more
//! counter per IP: the distinct accounts whose logins failed from it (each counted at its
//! first failure from that IP in the window). Existing and unknown accounts count alike:
//! counting only unknown names would make the moment the back-off starts tell which names
//! exist. Past `spray_free`, every login from the IP backs off, except those at accounts
//! that logged in successfully from that IP in the last [`KNOWN_FOR`] (a counter `ok:`
//! per account and IP, written at most once a day): an office behind one address keeps
//! working while a sprayer there waits. The exemption needs a real success from the
//! address, so it tells a sprayer elsewhere nothing; someone behind the same address
//! during a held-back spray can tell the exempt accounts (checked) from the rest (429):
//! a known limit, written in the README.

pub mod redis;

use crate::config::ThrottleSettings;
use crate::domain::time::seconds;
use crate::state::AppState;
use crate::store::StoreError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The failures this process has recorded, per key, counted up for ever (forgotten all at
/// once past 10,000 keys): what [`recheck`] compares with the count an attempt saw at its
/// [`check`], without reading the store again.
#[derive(Debug, Default)]
pub struct Recent(Mutex<HashMap<String, i64>>);

impl Recent {
    fn get(&self, key: &str) -> i64 {
        self.0
            .lock()
            .map_or(0, |m| m.get(key).copied().unwrap_or(0))
    }

    fn add(&self, keys: &[String]) {
        let Ok(mut map) = self.0.lock() else {
            return;
        };
        if map.len() >= 10_000 {
            map.clear();
        }
        for key in keys {
            *map.entry(key.clone()).or_insert(0) += 1;
        }
    }
}

/// How long a successful login marks its IP as known for its account (spraying
/// exemption): 30 days.
pub const KNOWN_FOR: i64 = crate::store::KNOWN_ADDRESS_FOR;

/// How often a known IP's mark is renewed by a successful login: once a day.
const KNOWN_RENEW: i64 = 86_400;

/// How long the client must wait before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Seconds (at least one).
    pub seconds: i64,
}

/// The back-off after `failures` (the last at `last`), at `now`: `None` when the next
/// attempt may go ahead. One second after the first failure past `free`, doubling, capped.
pub fn backoff(failures: i64, free: i64, cap: i64, last: i64, now: i64) -> Option<i64> {
    if failures < free {
        return None;
    }
    let doublings = u32::try_from((failures - free).min(40)).unwrap_or(40);
    let delay = 1_i64
        .checked_shl(doublings)
        .unwrap_or(i64::MAX)
        .min(cap.max(1));
    let until = last.saturating_add(delay);
    (until > now).then(|| until - now)
}

/// The throttle keys of one attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    account_ip: String,
    account: String,
    ip: String,
    spray: String,
    known: String,
    /// When this account last logged in successfully from this IP (within [`KNOWN_FOR`]).
    known_since: Option<i64>,
    /// Whether [`check`] found failures of this account from this IP: only then does a
    /// success need a write to clear them.
    seen_failures: bool,
    /// Per key (in [`Attempt::keys`] order), what [`check`] saw: stored failures and
    /// this process's [`Recent`] count.
    seen: Vec<(i64, i64)>,
}

impl Attempt {
    /// The attempt to log in to the account `user` (found by `login`, as typed) from `ip`;
    /// when no account has that id, the typed id folded is the key.
    pub fn new(user: Option<i64>, login: &str, ip: IpAddr) -> Self {
        let login = match user {
            Some(id) => format!("#{id}"),
            None => format!("={}", crate::domain::user::username_key(login)),
        };
        Self::keyed(&login, ip)
    }

    /// An attempt at `user`'s second factor from `ip`: counters of their own (a right
    /// password, which clears the password's counters of this account and IP, leaves
    /// these), beside the IP's.
    pub fn second_factor(user: i64, ip: IpAddr) -> Self {
        Self::keyed(&format!("mfa#{user}"), ip)
    }

    /// The keys of an attempt at the account keyed `login` from `ip`.
    fn keyed(login: &str, ip: IpAddr) -> Self {
        let ip = ip_key(ip);
        Self {
            account_ip: format!("a+ip:{login}|{ip}"),
            account: format!("a:{login}"),
            ip: format!("ip:{ip}"),
            spray: format!("spray:{ip}"),
            known: format!("ok:{login}|{ip}"),
            known_since: None,
            seen_failures: false,
            seen: Vec::new(),
        }
    }

    /// The failure counters (the known-IP mark is read beside them, never counted).
    fn keys(&self) -> Vec<String> {
        vec![
            self.account_ip.clone(),
            self.account.clone(),
            self.ip.clone(),
            self.spray.clone(),
        ]
    }

    /// Whether this is the first failure of this account from this IP in the window (as
    /// [`check`] saw it, and none recorded by this process since).
    fn first_failure_here(&self, recent: &Recent) -> bool {
        self.seen.first().is_some_and(|(stored, at_check)| {
            *stored == 0 && recent.get(&self.account_ip) == *at_check
        })
    }
}

/// Counts a self-service request that sends mail (sign-up, reset, e-mail change) from
/// `ip`, and says whether it must wait: past `[throttle] mail_free` in a window, the same
/// doubling back-off as failed logins. Depends on the IP only, never on the account, so
/// it tells nothing about which addresses exist.
///
/// # Errors
/// The store's.
pub async fn mail_request(state: &AppState, ip: IpAddr) -> Result<Option<Wait>, StoreError> {
    let t = &state.settings.throttle;
    if !t.enabled {
        return Ok(None);
    }
    let now = state.clock.unix();
    let since = now - seconds(t.window);
    let key = format!("mail:{}", ip_key(ip));
    let counted = counters(state, std::slice::from_ref(&key), since).await?;
    if let Some((_, requests, last)) = counted.first()
        && let Some(seconds) = backoff(*requests, t.mail_free, seconds(t.ip_max), *last, now)
    {
        return Ok(Some(Wait { seconds }));
    }
    count(state, &[key], now, since).await?;
    Ok(None)
}

/// The counters of `keys` touched since `since`: from Redis when configured (an error
/// there reads as no counters: failing open), else from the store.
async fn counters(
    state: &AppState,
    keys: &[String],
    since: i64,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    match &state.throttle_redis {
        Some(redis) => Ok(redis.get(keys, since).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "throttle counters in Redis unavailable (failing open)");
            Vec::new()
        })),
        None => state.store.login_failures(keys, since).await,
    }
}

/// Counts one more against each of `keys`.
async fn count(
    state: &AppState,
    keys: &[String],
    now: i64,
    window_start: i64,
) -> Result<(), StoreError> {
    match &state.throttle_redis {
        Some(redis) => {
            let ttl = now - window_start;
            if let Err(error) = redis.record(keys, now, window_start, ttl).await {
                tracing::warn!(%error, "throttle counters in Redis unavailable (failing open)");
            }
            Ok(())
        }
        None => {
            state
                .store
                .record_login_failure(keys, now, window_start)
                .await
        }
    }
}

/// Whether `attempt` must wait now.
///
/// # Errors
/// The store's.
pub async fn check(state: &AppState, attempt: &mut Attempt) -> Result<Option<Wait>, StoreError> {
    let t = &state.settings.throttle;
    if !t.enabled {
        return Ok(None);
    }
    let now = state.clock.unix();
    let keys = attempt.keys();
    let window_start = now - seconds(t.window);
    // One read: the failure counters of the window, and the known-IP mark of 30 days.
    let mut read = keys.clone();
    read.push(attempt.known.clone());
    let mut counters = counters(state, &read, now.saturating_sub(KNOWN_FOR)).await?;
    attempt.known_since = counters
        .iter()
        .find(|(key, ..)| *key == attempt.known)
        .map(|(_, _, last)| *last);
    counters.retain(|(key, _, last)| *key != attempt.known && *last >= window_start);
    attempt.seen_failures = counters.iter().any(|(key, ..)| *key == attempt.account_ip);
    attempt.seen = keys
        .iter()
        .map(|key| {
            let stored = counters
                .iter()
                .find(|(k, ..)| k == key)
                .map_or(0, |(_, n, _)| *n);
            (stored, state.throttle_recent.get(key))
        })
        .collect();
    let wait = counters
        .iter()
        .filter_map(|(key, failures, last)| {
            let (free, cap) = limits(t, attempt, key)?;
            backoff(*failures, free, cap, *last, now)
        })
        .max();
    Ok(wait.map(|seconds| Wait { seconds }))
}

/// Whether `attempt`, which passed [`check`], must wait after all because this process has
/// recorded failures of its keys since (a concurrent burst: every attempt passed the check
/// before the first failure was written). From memory only: called with a hashing slot
/// held, so no I/O keeps the hashing thread waiting.
pub fn recheck(state: &AppState, attempt: &Attempt) -> Option<Wait> {
    let t = &state.settings.throttle;
    if !t.enabled {
        return None;
    }
    let now = state.clock.unix();
    attempt
        .keys()
        .iter()
        .zip(&attempt.seen)
        .filter_map(|(key, (stored, recent))| {
            let since = state
                .throttle_recent
                .get(key)
                .saturating_sub(*recent)
                .max(0);
            if since == 0 {
                return None;
            }
            let (free, cap) = limits(t, attempt, key)?;
            backoff(stored + since, free, cap, now, now)
        })
        .max()
        .map(|seconds| Wait { seconds })
}

fn limits(t: &ThrottleSettings, attempt: &Attempt, key: &str) -> Option<(i64, i64)> {
    if key == attempt.spray {
        // An account that logged in from here before is not held back by spraying.
        return attempt
            .known_since
            .is_none()
            .then(|| (t.spray_free, seconds(t.ip_max)));
    }
    if key == attempt.account_ip {
        Some((t.account_ip_free, seconds(t.account_ip_max)))
    } else if key == attempt.account {
        Some((t.account_free, seconds(t.account_max)))
    } else if key == attempt.ip {
        Some((t.ip_free, seconds(t.ip_max)))
    } else {
        None
    }
}

/// Counts a failed attempt.
///
/// # Errors
/// The store's.
pub async fn failed(state: &AppState, attempt: &Attempt) -> Result<(), StoreError> {
    let t = &state.settings.throttle;
    if !t.enabled {
        return Ok(());
    }
    let now = state.clock.unix();
    let mut keys = vec![
        attempt.account_ip.clone(),
        attempt.account.clone(),
        attempt.ip.clone(),
    ];
    // One more distinct account failing from this IP (not one the IP is known for).
    if attempt.known_since.is_none() && attempt.first_failure_here(&state.throttle_recent) {
        keys.push(attempt.spray.clone());
    }
    state.throttle_recent.add(&keys);
    count(state, &keys, now, now - seconds(t.window)).await
}

/// A successful login forgets the failures of this account from this IP (not the
/// account-wide or IP-wide counters, which watch distributed guessing). No write when
/// there were none.
///
/// # Errors
/// The store's.
pub async fn succeeded(state: &AppState, attempt: &Attempt) -> Result<(), StoreError> {
    if !state.settings.throttle.enabled {
        return Ok(());
    }
    // This IP is known for this account (spraying exemption), renewed once a day.
    let now = state.clock.unix();
    if attempt
        .known_since
        .is_none_or(|last| last < now.saturating_sub(KNOWN_RENEW))
    {
        count(
            state,
            std::slice::from_ref(&attempt.known),
            now,
            now.saturating_sub(KNOWN_FOR),
        )
        .await?;
    }
    if !attempt.seen_failures {
        return Ok(());
    }
    match &state.throttle_redis {
        Some(redis) => {
            if let Err(error) = redis.clear(&attempt.account_ip).await {
                tracing::warn!(%error, "throttle counters in Redis unavailable (failing open)");
            }
            Ok(())
        }
        None => state.store.clear_login_failures(&attempt.account_ip).await,
    }
}

/// The client's IP: the peer's, or, when the peer is a trusted proxy, the right-most
/// address of `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    // An IPv4 peer on a dual-stack listener arrives as ::ffff:a.b.c.d: compare as IPv4.
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *ip);
    if !is_trusted(&peer) {
        return peer;
    }
    forwarded_for
        .into_iter()
        .flat_map(|h| h.rsplit(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// How an address is counted: an IPv4 address as itself, an IPv6 address by its /64 (one
/// host usually holds a whole /64, and could take a fresh address per attempt).
pub fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_past_the_allowance_and_is_capped() {
        assert_eq!(backoff(4, 5, 900, 100, 100), None);
        assert_eq!(backoff(5, 5, 900, 100, 100), Some(1));
        assert_eq!(backoff(6, 5, 900, 100, 100), Some(2));
        assert_eq!(backoff(8, 5, 900, 100, 101), Some(7));
        assert_eq!(backoff(60, 5, 900, 100, 100), Some(900));
        assert_eq!(backoff(6, 5, 900, 100, 102), None, "waited long enough");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let key = |s: &str| ip_key(s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])));
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let client: IpAddr = "203.0.113.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let spoofed = Some("198.51.100.1, 203.0.113.7");
        assert_eq!(
            client_ip(client, spoofed, &[proxy]),
            client,
            "untrusted peer"
        );
        assert_eq!(
            client_ip(proxy, spoofed, &[proxy]),
            client,
            "right-most untrusted"
        );
        assert_eq!(client_ip(proxy, None, &[proxy]), proxy);
        assert_eq!(client_ip(proxy, Some("junk"), &[proxy]), proxy);
    }
}
