//! Requests Tessera makes to addresses its clients registered: back-channel logout URIs
//! and `jwks_uri`s. Such an address is chosen by whoever registers a client, so unless
//! `[sso] backchannel_allow_loopback` is on (development), nothing is sent to this machine
//! itself (loopback, the unspecified address, any address of its own interfaces) nor to
//! link-local, multicast or broadcast addresses (a cloud's metadata service is
//! 169.254.169.254): addresses are checked as written and again after DNS, at each
//! connection. No proxy from the environment is used (it would resolve the name where
//! Tessera cannot check it), no redirects are followed, and every request has a deadline.

use crate::state::AppState;
use std::net::IpAddr;
use std::time::Duration;

/// An HTTP client for requests to clients' addresses: forbidden addresses refused (unless
/// allowed), no proxy, no redirects, `timeout` for the connection and for the whole
/// request.
///
/// # Errors
/// The HTTP client could not be built (no TLS roots).
pub fn http_client(
    state: &AppState,
    user_agent: &'static str,
    timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder().no_proxy();
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

/// Whether `ip` is this machine itself (loopback, the unspecified address, which connects
/// to it, or an address of one of its interfaces), or a link-local, multicast or broadcast
/// address; IPv4-mapped IPv6 included.
fn is_forbidden(ip: IpAddr) -> bool {
    if let IpAddr::V6(v6) = ip
        && let Some(v4) = embedded_v4(v6)
        && is_forbidden(IpAddr::V4(v4))
    {
        return true;
    }
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let special = match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_broadcast() || v4.is_multicast(),
        IpAddr::V6(v6) => v6.is_unicast_link_local() || v6.is_multicast(),
    };
    special || ip.is_loopback() || ip.is_unspecified() || is_local_interface(ip)
}

/// The IPv4 address an IPv6 address carries, where one reaches that IPv4 host:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), the NAT64 well-known
/// prefix (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        std::net::Ipv4Addr::new(a, b, c, d)
    };
    match s {
        _ if v6.to_ipv4_mapped().is_some() => v6.to_ipv4_mapped(),
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => Some(v4(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        _ => None,
    }
}

/// Whether `ip` is an address of this machine's interfaces: only those can be bound.
fn is_local_interface(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// Name resolution that drops forbidden addresses ([`is_forbidden`]; `[sso]
/// backchannel_allow_loopback` off): checked at each connection, after DNS, so a name
/// that resolves to 127.0.0.1 gets nowhere either.
struct NoLoopback;

impl reqwest::dns::Resolve for NoLoopback {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<std::net::SocketAddr> =
                found.filter(|a| !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(
                    "requests to this machine or link-local addresses are not allowed".into(),
                );
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether the URI names a forbidden address, when that is not allowed (names are
/// checked by [`NoLoopback`] as they resolve).
pub fn refused_target(state: &AppState, uri: &str) -> bool {
    if state.settings.sso.backchannel_allow_loopback {
        return false;
    }
    match url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => is_forbidden(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_forbidden(ip.into()),
        Some(url::Host::Domain(_)) => false,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_and_link_local_addresses_are_forbidden() {
        for own in [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "0.0.0.0",
            "::",
            "::ffff:127.0.0.1",
            "169.254.169.254",
            "fe80::1",
            "224.0.0.1",
            "255.255.255.255",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(is_forbidden(own.parse().unwrap()), "{own}");
        }
        for other in ["10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1"] {
            assert!(!is_forbidden(other.parse().unwrap()), "{other}");
        }
    }

    /// The address this machine would send from (its own interface's, not loopback) is
    /// forbidden too: a listener on 0.0.0.0 answers there (attacker review of the
    /// request objects).
    #[test]
    fn this_machines_interface_addresses_are_forbidden() {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        // Connecting a UDP socket sends nothing; it picks the route and so the address.
        socket.connect("192.0.2.1:9").unwrap();
        let own = socket.local_addr().unwrap().ip();
        assert!(!own.is_loopback(), "{own}");
        assert!(is_forbidden(own), "{own}");
    }
}
