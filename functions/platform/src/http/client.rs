//! The client's address, for per-address limits: the connection's peer, or, behind
//! `trusted_proxy_hops` proxies, the address the outermost trusted proxy recorded in
//! `X-Forwarded-For`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// Where a request came from; `None` when nobody knows (a request built in-process).
///
/// Serving puts it in each request's extensions (see [`client_ip`]); without that it falls
/// back to axum's `ConnectInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(addr) = parts.extensions.get::<ClientAddr>() {
            return Ok(*addr);
        }
        Ok(ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// The client's address: `peer` itself with no trusted proxies; otherwise the entry that the
/// outermost of `hops` trusted proxies appended to `X-Forwarded-For` (each proxy appends the
/// address it received the request from, so entries further left may be forged). Falls back
/// to `peer` when the header has fewer entries than that.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, hops: usize) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    let entries: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|e| e.trim().parse().ok())
        .collect();
    entries.len().checked_sub(hops).and_then(|i| entries.get(i)).copied().unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(client_ip(peer, &forwarded("1.2.3.4"), 0), peer);
    }

    #[test]
    fn behind_proxies_the_outermost_trusted_entry_counts_and_forged_ones_do_not() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let headers = forwarded("6.6.6.6, 1.2.3.4, 10.0.0.9");
        assert_eq!(client_ip(peer, &headers, 1), "10.0.0.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &headers, 2), "1.2.3.4".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &forwarded("junk"), 1), peer);
    }
}
