//! The client IP: the socket peer, unless the peer is a trusted proxy, in which case the
//! right-most `X-Forwarded-For` hop that is not itself a trusted proxy. A forged
//! `X-Forwarded-For` from an untrusted peer is ignored.

use std::net::IpAddr;

use ipnet::IpNet;

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// `forwarded_for` holds every `X-Forwarded-For` value in order, comma-separated.
#[must_use]
pub fn resolve_client_ip(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer.map(|p| p.to_canonical())?;
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    let mut candidate = peer;
    for hop in header.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) else {
            // Garbage in the chain: trust nothing left of it.
            return Some(candidate);
        };
        candidate = ip;
        if !is_trusted(ip, trusted) {
            return Some(ip);
        }
    }
    Some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn untrusted_peer_ignores_the_header() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve_client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve_client_ip(ip("203.0.113.9"), None, &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_peer_takes_rightmost_untrusted_hop() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve_client_ip(
                ip("10.0.0.2"),
                Some("6.6.6.6, 198.51.100.7, 10.0.0.5"),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve_client_ip(ip("10.0.0.2"), Some("10.1.1.1"), &trusted),
            ip("10.1.1.1")
        );
        assert_eq!(
            resolve_client_ip(ip("10.0.0.2"), None, &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve_client_ip(ip("10.0.0.2"), Some("nonsense, 10.0.0.9"), &trusted),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn mapped_ipv6_is_canonicalised() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        assert_eq!(
            resolve_client_ip(ip("::ffff:127.0.0.1"), Some("192.0.2.1"), &trusted),
            ip("192.0.2.1")
        );
    }
}
