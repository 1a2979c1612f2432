//! Who the client is, as an address: the socket's peer, or, behind a trusted
//! proxy, the client that proxy names in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is believed only from the proxies listed in
//! `http.trusted_proxies` (none by default): a client connecting directly
//! could write anything there. The list is read from the right, the way the
//! proxies appended to it; the first address that is not a trusted proxy is
//! the client.
//!
//! The address is the one every per-client limit counts by, so it is
//! normalised first ([`limit_address`]): an IPv4 client written as an
//! IPv4-mapped IPv6 address is that IPv4 address, and an IPv6 client is its
//! /64 network, the block one subscriber (a home, a phone, a server) is
//! given: counting whole IPv6 addresses would let one subscriber step
//! around every limit by changing the low bits of its address.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// The client's address (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        // Served without connection info (a router driven in process): unknown.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |info| info.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok());
        Ok(Self(limit_address(client_ip(
            peer,
            forwarded,
            &state.trusted_proxies,
        ))))
    }
}

/// The client behind `peer`, given the `X-Forwarded-For` header lines it sent.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let trusted_ip = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !trusted_ip(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // Garbage in the chain: stop at the last address we could trust.
            break;
        };
        client = ip;
        if !trusted_ip(&ip) {
            break;
        }
    }
    client
}

/// The address limits count a client by: IPv4 as is (also when written as
/// an IPv4-mapped IPv6 address), IPv6 as its /64 network (the low 64 bits
/// zeroed).
pub fn limit_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_trusted;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let trusted = parse_trusted(&["10.0.0.0/8".to_owned(), "192.0.2.1".to_owned()]).unwrap();
        // A direct client cannot name someone else.
        assert_eq!(
            client_ip(ip("203.0.113.7"), ["198.51.100.1"].into_iter(), &trusted),
            ip("203.0.113.7")
        );
        // Behind a trusted proxy: the rightmost untrusted hop.
        assert_eq!(
            client_ip(
                ip("10.0.0.5"),
                ["198.51.100.1, 203.0.113.9, 192.0.2.1"].into_iter(),
                &trusted
            ),
            ip("203.0.113.9")
        );
        // Nothing forwarded: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.5"), std::iter::empty(), &trusted),
            ip("10.0.0.5")
        );
        // Garbage stops the walk.
        assert_eq!(
            client_ip(
                ip("10.0.0.5"),
                ["198.51.100.1, nonsense"].into_iter(),
                &trusted
            ),
            ip("10.0.0.5")
        );
        assert!(parse_trusted(&["not-an-ip".to_owned()]).is_err());
    }

    #[test]
    fn limits_count_an_ipv6_client_by_its_64_and_a_mapped_ipv4_as_ipv4() {
        assert_eq!(limit_address(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(limit_address(ip("::ffff:203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(
            limit_address(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            limit_address(ip("2001:db8:1:2::1")),
            limit_address(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            limit_address(ip("2001:db8:1:2::1")),
            limit_address(ip("2001:db8:1:3::1"))
        );
    }
}
