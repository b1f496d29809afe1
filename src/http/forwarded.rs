//! Who is calling: the socket's peer, or, behind a proxy the operator trusts
//! (`--trusted-proxies`), the address that proxy saw, from `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};

use hyper::header::HeaderMap;
use ipnet::IpNet;

/// The calling address, and how it was found, for a rejection's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    /// The trusted proxy whose `X-Forwarded-For` named `ip`, if any.
    pub via: Option<IpAddr>,
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.via {
            Some(proxy) => write!(f, "{} (X-Forwarded-For from proxy {proxy})", self.ip),
            None => write!(f, "{}", self.ip),
        }
    }
}

/// The client address. A peer outside `trusted` is the client, whatever it claims in
/// `X-Forwarded-For`. A trusted peer's list is read from the right, since each proxy appends
/// the address it saw: the first address that is not a trusted proxy is the client (left-most
/// when all are). An entry that is not an address makes the client unknown: an error.
pub fn client(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Result<Client, String> {
    let peer = peer.ip().to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Ok(Client {
            ip: peer,
            via: None,
        });
    }
    // Repeated headers are one list, in order.
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value
            .to_str()
            .map_err(|_| "X-Forwarded-For is not text".to_string())?;
        hops.extend(value.split(',').map(str::trim).filter(|h| !h.is_empty()));
    }
    let mut client = None;
    for hop in hops.iter().rev() {
        let ip = parse_hop(hop).ok_or_else(|| {
            let shown: String = hop.chars().take(64).collect();
            format!("X-Forwarded-For from proxy {peer} holds {shown:?}, not an address")
        })?;
        client = Some(ip);
        if !is_trusted(&ip) {
            break;
        }
    }
    Ok(match client {
        Some(ip) => Client {
            ip,
            via: Some(peer),
        },
        // A trusted proxy that forwarded nothing is calling for itself.
        None => Client {
            ip: peer,
            via: None,
        },
    })
}

/// An address as proxies write it: bare, or with a port (`1.2.3.4:80`, `[2001:db8::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let peer = "203.0.113.7:5000".parse().unwrap();
        let c = client(peer, &headers(&["10.0.0.1"]), &nets(&["10.0.0.0/8"])).unwrap();
        assert_eq!(
            c,
            Client {
                ip: ip("203.0.113.7"),
                via: None
            }
        );
        // Not even garbage in the header matters then.
        assert!(client(peer, &headers(&["nonsense"]), &[]).is_ok());
    }

    #[test]
    fn a_trusted_peer_names_the_right_most_untrusted_address() {
        let peer = "10.0.0.2:443".parse().unwrap();
        let trusted = nets(&["10.0.0.0/8", "2001:db8::/32"]);
        // The left-most entry is whatever the client wrote: a spoof, skipped.
        let h = headers(&["1.1.1.1, 198.51.100.9", "10.0.0.5"]);
        let c = client(peer, &h, &trusted).unwrap();
        assert_eq!(
            c,
            Client {
                ip: ip("198.51.100.9"),
                via: Some(ip("10.0.0.2"))
            }
        );
        let h = headers(&["[2001:db9::1]:80, 2001:db8::5, 10.1.1.1:8080"]);
        assert_eq!(client(peer, &h, &trusted).unwrap().ip, ip("2001:db9::1"));
        // All trusted: the left-most.
        let h = headers(&["10.9.9.9, 10.0.0.5"]);
        assert_eq!(client(peer, &h, &trusted).unwrap().ip, ip("10.9.9.9"));
        // Nothing forwarded: the proxy itself.
        assert_eq!(
            client(peer, &headers(&[]), &trusted).unwrap().ip,
            ip("10.0.0.2")
        );
        // An IPv4 peer on a dual-stack socket.
        let mapped = "[::ffff:10.0.0.2]:443".parse().unwrap();
        let c = client(mapped, &headers(&["198.51.100.9"]), &trusted).unwrap();
        assert_eq!(c.ip, ip("198.51.100.9"));
    }

    #[test]
    fn garbage_from_a_trusted_peer_is_an_error() {
        let peer = "10.0.0.2:443".parse().unwrap();
        let e = client(
            peer,
            &headers(&["198.51.100.9, unknown"]),
            &nets(&["10.0.0.0/8"]),
        )
        .unwrap_err();
        assert!(e.contains("\"unknown\""), "{e}");
    }
}
