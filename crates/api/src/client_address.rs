//! The client's network address, for the login throttle, the audit log and the request log:
//! the connection's peer, unless the peer is a proxy the deployment trusts
//! (`TONGXING_TRUSTED_PROXIES`, addresses or CIDR blocks). Then the address is read from what
//! the proxies forwarded (`Forwarded`, RFC 7239, or else `X-Forwarded-For`), from the nearest
//! hop outwards, and is the first hop that is not itself a trusted proxy. Nothing else may name
//! an address: with no proxy trusted (the default) the headers are ignored, so a client cannot
//! choose the address it is throttled and audited under.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web;
use ipnet::IpNet;

use crate::state::AppState;

/// The proxies whose forwarded addresses are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of addresses (`10.0.0.7`, `::1`) and CIDR blocks (`10.0.0.0/8`);
    /// empty trusts none.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => item.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("`{item}` is neither an address nor a CIDR block such as 10.0.0.0/8")
                })?,
            };
            nets.push(net.trunc());
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a connection from `peer` carrying `headers`.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut current = canonical(peer?);
        if !self.trusts(current) {
            return Some(current);
        }
        // The hops the proxies recorded, the nearest last; `None` for one that is no address
        // (`unknown`, an obfuscated name): the walk stops there, at the last proxy it trusted.
        let mut hops = forwarded_hops(headers);
        while self.trusts(current) {
            match hops.pop() {
                Some(Some(hop)) => current = canonical(hop),
                Some(None) | None => break,
            }
        }
        Some(current)
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The forwarded hops, the client first and the nearest proxy's peer last: `Forwarded`'s `for=`
/// parameters when the header is present, else `X-Forwarded-For`; every header line in order.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let lines = |name| headers.get_all(name).filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    let forwarded = lines(header::FORWARDED);
    if !forwarded.trim().is_empty() {
        return forwarded
            .split(',')
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, node)| node_address(node.trim().trim_matches('"')))
            })
            .collect();
    }
    lines(header::HeaderName::from_static("x-forwarded-for"))
        .split(',')
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .map(node_address)
        .collect()
}

/// The address of a node as proxies write it: `192.0.2.60`, `192.0.2.60:8080`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:8080`; `None` for anything else.
fn node_address(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>().ok().or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip())).or_else(|| {
        node.strip_prefix('[').and_then(|n| n.strip_suffix(']')).and_then(|n| n.parse::<IpAddr>().ok())
    })
}

/// The client's address of a request, by the deployment's trusted proxies.
pub fn of(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.trusted_proxies.client(peer, req.headers()),
        None => peer.map(canonical),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn no_proxy_trusted_means_the_peer_whatever_the_headers_say() {
        let none = TrustedProxies::default();
        let h = headers(&[("x-forwarded-for", "203.0.113.9"), ("forwarded", "for=203.0.113.9")]);
        assert_eq!(none.client(ip("10.0.0.7"), &h), ip("10.0.0.7"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_an_untrusted_peer_cannot() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, ::1").unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(proxies.client(ip("10.1.2.3"), &h), ip("203.0.113.9"));
        assert_eq!(proxies.client(ip("::1"), &h), ip("203.0.113.9"));
        assert_eq!(proxies.client(ip("::ffff:10.1.2.3"), &h), ip("203.0.113.9"), "IPv4 mapped");
        assert_eq!(proxies.client(ip("198.51.100.4"), &h), ip("198.51.100.4"), "not a proxy of ours");
    }

    #[test]
    fn the_walk_stops_at_the_first_hop_not_trusted() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client wrote a false first hop; the proxies appended what they saw.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Two header lines are one list, in order.
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Every hop trusted: the farthest.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.2")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("10.9.9.9"));
        // Nothing forwarded, or garbage: the proxy itself.
        assert_eq!(proxies.client(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
        let h = headers(&[("x-forwarded-for", "not-an-address")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_is_read_before_x_forwarded_for() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[
            ("forwarded", r#"for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711""#),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=192.0.2.43:47011, for=unknown")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("10.0.0.1"), "an unknown hop ends the walk");
        let h = headers(&[("forwarded", "For=\"192.0.2.43\"")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("192.0.2.43"));
    }

    #[test]
    fn the_list_is_checked() {
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert_eq!(TrustedProxies::parse(" 10.0.0.1 , 10.0.0.0/8 ").unwrap().0.len(), 2);
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
    }
}
