//! [`ClientIp`]: the client's address for login throttling.

use crate::service::throttle;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The peer's IP, or the client's as `X-Forwarded-For` names it when the peer is one of
/// `[throttle] trusted_proxies`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        // Every X-Forwarded-For line, in order, as one list (RFC 9110 §5.3): a proxy that
        // appends a line of its own (HAProxy) is read at its line, not at the client's.
        let lines: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let forwarded = (!lines.is_empty()).then(|| lines.join(","));
        Ok(Self(throttle::client_ip(
            peer,
            forwarded.as_deref(),
            &state.settings.throttle.trusted_proxies,
        )))
    }
}
