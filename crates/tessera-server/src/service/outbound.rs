//! Requests Tessera makes to addresses its clients registered: back-channel logout URIs
//! and `jwks_uri`s. Such an address is chosen by whoever registers a client, so unless
//! `[sso] backchannel_allow_loopback` is on (development), nothing is sent to this machine
//! itself: addresses are checked as written and again after DNS, at each connection. No
//! redirects are followed, and every request has a deadline.

use crate::state::AppState;
use std::time::Duration;

/// An HTTP client for requests to clients' addresses: loopback refused (unless allowed),
/// no redirects, `timeout` for the connection and for the whole request.
///
/// # Errors
/// The HTTP client could not be built (no TLS roots).
pub fn http_client(
    state: &AppState,
    user_agent: &'static str,
    timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if !state.settings.sso.backchannel_allow_loopback {
        builder = builder.dns_resolver(std::sync::Arc::new(NoLoopback));
    }
    builder
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(user_agent)
        .build()
}

/// Whether `ip` is this machine itself (loopback, or the unspecified address, which
/// connects to it), IPv4-mapped IPv6 included.
fn is_own(ip: std::net::IpAddr) -> bool {
    let ip = match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    };
    ip.is_loopback() || ip.is_unspecified()
}

/// Name resolution that drops this machine's own addresses (`[sso]
/// backchannel_allow_loopback` off): checked at each connection, after DNS, so a name
/// that resolves to 127.0.0.1 gets nowhere either.
struct NoLoopback;

impl reqwest::dns::Resolve for NoLoopback {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<std::net::SocketAddr> = found.filter(|a| !is_own(a.ip())).collect();
            if allowed.is_empty() {
                return Err("requests to a loopback address are not allowed".into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether the URI names this machine by address, when that is not allowed (names are
/// checked by [`NoLoopback`] as they resolve).
pub fn refused_target(state: &AppState, uri: &str) -> bool {
    if state.settings.sso.backchannel_allow_loopback {
        return false;
    }
    match url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => is_own(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_own(ip.into()),
        Some(url::Host::Domain(_)) => false,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_addresses_are_recognised() {
        for own in [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "0.0.0.0",
            "::",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_own(own.parse().unwrap()), "{own}");
        }
        for other in ["10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1"] {
            assert!(!is_own(other.parse().unwrap()), "{other}");
        }
    }
}
