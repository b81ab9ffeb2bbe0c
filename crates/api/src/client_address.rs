//! The client's network address, for the login throttle, the audit log and the request log:
//! the connection's peer, unless the peer is a proxy the deployment trusts
//! (`TONGXING_TRUSTED_PROXIES`, addresses or CIDR blocks). Then the address is read from the one
//! header the deployment's proxies write (`TONGXING_FORWARDED_HEADER`: `X-Forwarded-For`, as
//! HAProxy's `option forwardfor` and nginx append it, or `Forwarded`, RFC 7239), from the nearest
//! hop outwards, and is the first hop that is not itself a trusted proxy. Only one header is
//! read, as nginx's realip module does: a proxy appends to the header it writes and passes the
//! other through as the client sent it, so reading whichever is present would let a client name
//! its own address. With no proxy trusted (the default) the headers are ignored.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web;
use ipnet::IpNet;

use crate::state::AppState;

/// The header the deployment's proxies write the client's address into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(name: &str) -> Result<ForwardedHeader, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            other => Err(format!("`{other}` is neither `x-forwarded-for` nor `forwarded`")),
        }
    }
}

/// The proxies whose forwarded addresses are believed, and the header they write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// A comma-separated list of addresses (`10.0.0.7`, `::1`) and CIDR blocks (`10.0.0.0/24`);
    /// empty trusts none. A block with host bits set (`10.0.0.7/8`: a typo for an address, or
    /// for a block) and a block holding every address are refused.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) if net.trunc() != net => {
                    return Err(format!(
                        "`{item}` has host bits set: write {} or the address alone",
                        net.trunc()
                    ));
                }
                Ok(net) if net.prefix_len() == 0 => {
                    return Err(format!(
                        "`{item}` would trust every address, and let any client name its own"
                    ));
                }
                Ok(net) => net,
                Err(_) => item.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("`{item}` is neither an address nor a CIDR block such as 10.0.0.0/24")
                })?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies { nets, header: ForwardedHeader::default() })
    }

    /// The same proxies, writing `header`.
    pub fn reading(self, header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies { header, ..self }
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a connection from `peer` carrying `headers`.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut current = canonical(peer?);
        if !self.trusts(current) {
            return Some(current);
        }
        // The hops the proxies recorded, the nearest last; `None` for one that is no address
        // (`unknown`, an obfuscated name): the walk stops there, at the last proxy it trusted.
        let mut hops = forwarded_hops(self.header, headers);
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

/// The forwarded hops in `header`, the client first and the nearest proxy's peer last, every
/// header line in order. A line is read as bytes: a byte that is not text spoils only the hop it
/// is in, not the hops a proxy appended after it.
fn forwarded_hops(header: ForwardedHeader, headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let lines = |name| {
        headers
            .get_all(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    if header == ForwardedHeader::Forwarded {
        return lines(header::FORWARDED)
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

/// A request's client address, worked out once ([`of`]).
#[derive(Debug, Clone, Copy)]
struct ClientAddress(Option<IpAddr>);

/// The client's address of a request, by the deployment's trusted proxies; worked out on first
/// use and kept with the request.
pub fn of(req: &HttpRequest) -> Option<IpAddr> {
    use actix_web::HttpMessage;
    if let Some(known) = req.extensions().get::<ClientAddress>() {
        return known.0;
    }
    let peer = req.peer_addr().map(|a| a.ip());
    let address = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.trusted_proxies.client(peer, req.headers()),
        None => peer.map(canonical),
    };
    req.extensions_mut().insert(ClientAddress(address));
    address
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
        // A byte that is not text in a hop the client wrote does not hide the hop the proxy
        // appended to the same line.
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_bytes(b"1.2.3.4\xff, 203.0.113.9").unwrap(),
        );
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // The proxy appends to X-Forwarded-For and passes a client's Forwarded through: that
        // Forwarded is the client's own word, and is not read.
        let xff = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[("forwarded", "for=203.0.113.7"), ("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(xff.client(ip("10.0.0.1"), &h), ip("198.51.100.1"));
        let h = headers(&[("forwarded", "for=203.0.113.7")]);
        assert_eq!(xff.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        // A deployment whose proxies write Forwarded reads it, and only it.
        let proxies = xff.reading(ForwardedHeader::Forwarded);
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
        assert_eq!(TrustedProxies::parse(" 10.0.0.1 , 10.0.0.0/8 ").unwrap().nets.len(), 2);
        for bad in ["10.0.0.0/33", "proxy.internal", "10.0.0.7/8", "0.0.0.0/0", "::/0"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ForwardedHeader::parse("Forwarded"), Ok(ForwardedHeader::Forwarded));
        assert!(ForwardedHeader::parse("x-real-ip").is_err());
    }
}
