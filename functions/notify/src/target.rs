//! Where a webhook may point. An endpoint is an `http` or `https` URL whose host resolves
//! only to public addresses: loopback (allowed in dev mode), private, link-local, shared
//! (CGNAT), multicast and unspecified addresses are refused, so a webhook cannot make the
//! server call into its own network (SSRF). The check runs when a webhook is registered
//! and again, after DNS resolution, before every attempt; the attempt then connects to the
//! address that was checked, so a name that re-resolves elsewhere gains nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Why an endpoint is refused: for the user.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub String);

/// The URL, if it is a usable endpoint's (resolution aside).
pub fn parse(text: &str) -> Result<Url, Refused> {
    let url = Url::parse(text).map_err(|e| Refused(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused("the URL must be http or https".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Refused("the URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused("the URL must not carry credentials".into()));
    }
    if text.len() > 2048 {
        return Err(Refused("the URL is longer than 2048 characters".into()));
    }
    Ok(url)
}

/// Resolves `url`'s host and checks every address it has; the first one to connect to.
pub async fn resolve(url: &Url, allow_loopback: bool) -> Result<SocketAddr, Refused> {
    let host = url.host_str().ok_or_else(|| Refused("the URL has no host".into()))?;
    let port = url.port_or_known_default().ok_or_else(|| Refused("the URL has no port".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port)).await.map_err(|e| Refused(format!("{host} does not resolve: {e}")))?.collect(),
    };
    let first = *addresses.first().ok_or_else(|| Refused(format!("{host} has no address")))?;
    if let Some(bad) = addresses.iter().find(|a| !allowed(a.ip(), allow_loopback)) {
        return Err(Refused(format!("{host} resolves to {}, which is not a public address", bad.ip())));
    }
    Ok(first)
}

/// Whether an endpoint may be at `ip`.
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => allowed_v4(v4, allow_loopback),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => allowed_v4(v4, allow_loopback),
            None => allowed_v6(v6, allow_loopback),
        },
    }
}

fn allowed_v4(ip: Ipv4Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10
    let this_network = a == 0; // 0.0.0.0/8
    !(ip.is_private() || ip.is_link_local() || ip.is_broadcast() || ip.is_multicast() || ip.is_documentation() || shared || this_network)
}

fn allowed_v6(ip: Ipv6Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00; // fc00::/7
    let link_local = first & 0xffc0 == 0xfe80; // fe80::/10
    !(ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_allowed() {
        for public in ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(allowed(public.parse().unwrap(), false), "{public}");
        }
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "fd00::1",
            "fe80::1",
            "::",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!allowed(private.parse().unwrap(), true), "{private}");
        }
        assert!(!allowed("127.0.0.1".parse().unwrap(), false));
        assert!(!allowed("::1".parse().unwrap(), false));
        assert!(allowed("127.0.0.1".parse().unwrap(), true), "dev mode allows loopback");
    }

    #[test]
    fn urls_are_http_with_a_host_and_no_credentials() {
        assert!(parse("https://hooks.example.com/mp3").is_ok());
        for bad in ["ftp://example.com/", "not a url", "http://user:pw@example.com/", "file:///etc/passwd"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        let url = parse("http://localhost:9/hook").unwrap();
        let refused = resolve(&url, false).await.unwrap_err();
        assert!(refused.0.contains("not a public address"), "{refused:?}");
        assert!(resolve(&url, true).await.unwrap().ip().is_loopback());
        let metadata = parse("http://169.254.169.254/latest/meta-data").unwrap();
        assert!(resolve(&metadata, true).await.is_err());
    }
}
