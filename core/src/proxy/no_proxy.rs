//! `NO_PROXY`: the hosts reached directly, matched as curl matches them.

use std::net::IpAddr;

use super::config::split_host_port;

/// A list of hosts to reach without the proxy, parsed from a `NO_PROXY` value.
///
/// Entries are separated by commas (spaces around them are ignored):
/// * `*` alone: every host;
/// * a domain (`example.com` or `.example.com`): that host and every subdomain, without
///   regard to case;
/// * an IP address (`10.1.2.3`, `::1`, `[::1]`): that address;
/// * a CIDR block (`10.0.0.0/8`, `fd00::/8`): every address in it;
/// * any of these with `:port` (`example.com:8080`, `[::1]:443`): that port only.
///
/// Host names are not resolved: `localhost` matches the name, not `127.0.0.1`.
///
/// ```
/// use ropeway_core::proxy::NoProxy;
///
/// let no_proxy = NoProxy::parse("localhost, .corp.example, 10.0.0.0/8, api.test:8443");
/// assert!(no_proxy.matches("LOCALHOST", 80));
/// assert!(no_proxy.matches("ws.corp.example", 443));
/// assert!(no_proxy.matches("10.20.30.40", 80));
/// assert!(no_proxy.matches("api.test", 8443) && !no_proxy.matches("api.test", 443));
/// assert!(!no_proxy.matches("example.com", 443));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    All,
    Domain { name: String, port: Option<u16> },
    Ip { ip: IpAddr, port: Option<u16> },
    Cidr { net: IpAddr, bits: u8 },
}

impl NoProxy {
    /// Parses a `NO_PROXY` value. Entries that fit none of the forms are skipped (as curl
    /// does), so one typo does not send every host through the proxy or around it.
    pub fn parse(value: &str) -> NoProxy {
        let entries = value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .filter_map(parse_entry)
            .collect();
        NoProxy { entries }
    }

    /// Whether the list is empty (every host goes through the proxy).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `host` (a name or an IP, IPv6 with or without brackets) on `port` is reached
    /// directly.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.strip_suffix('.').unwrap_or(host);
        let ip = host.parse::<IpAddr>().ok();
        let port_ok = |want: &Option<u16>| want.is_none_or(|p| p == port);
        self.entries.iter().any(|entry| match entry {
            Entry::All => true,
            Entry::Domain { name, port } => {
                port_ok(port)
                    && host.len() >= name.len()
                    && host[host.len() - name.len()..].eq_ignore_ascii_case(name)
                    && (host.len() == name.len()
                        || host.as_bytes()[host.len() - name.len() - 1] == b'.')
            }
            Entry::Ip { ip: want, port } => port_ok(port) && ip == Some(*want),
            Entry::Cidr { net, bits } => ip.is_some_and(|ip| in_block(ip, *net, *bits)),
        })
    }
}

fn parse_entry(entry: &str) -> Option<Entry> {
    if entry == "*" {
        return Some(Entry::All);
    }
    if let Some((net, bits)) = entry.split_once('/') {
        let net: IpAddr = net
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then_some(Entry::Cidr { net, bits });
    }
    // A bare IPv6 address has colons but no port.
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(Entry::Ip { ip, port: None });
    }
    let (host, port) = split_host_port(entry)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Entry::Ip { ip, port });
    }
    let name = host.trim_start_matches('.');
    let name = name.strip_suffix('.').unwrap_or(name);
    (!name.is_empty()).then(|| Entry::Domain {
        name: name.to_owned(),
        port,
    })
}

/// Whether `ip` is in `net/bits` (an IPv4-mapped IPv6 address counts as its IPv4 one).
fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => prefix_eq(&ip.octets(), &net.octets(), bits),
        (IpAddr::V6(ip), IpAddr::V6(net)) => prefix_eq(&ip.octets(), &net.octets(), bits),
        _ => false,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (NO_PROXY, host, port, reached directly?)
    const TABLE: &[(&str, &str, u16, bool)] = &[
        ("", "example.com", 80, false),
        ("*", "example.com", 80, true),
        ("*", "10.0.0.1", 443, true),
        ("example.com", "example.com", 80, true),
        ("example.com", "EXAMPLE.com", 80, true),
        ("example.com", "example.com.", 80, true),
        ("example.com", "ws.example.com", 80, true),
        ("example.com", "a.b.example.com", 80, true),
        ("example.com", "notexample.com", 80, false),
        ("example.com", "example.com.evil", 80, false),
        (".example.com", "example.com", 80, true),
        (".example.com", "ws.example.com", 80, true),
        ("example.com.", "ws.example.com", 80, true),
        ("ws.example.com", "example.com", 80, false),
        ("localhost", "localhost", 9001, true),
        ("localhost", "127.0.0.1", 9001, false),
        ("127.0.0.1", "127.0.0.1", 9001, true),
        ("127.0.0.1", "127.0.0.2", 9001, false),
        ("::1", "::1", 80, true),
        ("::1", "[::1]", 80, true),
        ("[::1]", "::1", 80, true),
        ("[::1]:443", "::1", 443, true),
        ("[::1]:443", "::1", 80, false),
        ("10.0.0.0/8", "10.255.1.2", 80, true),
        ("10.0.0.0/8", "11.0.0.1", 80, false),
        ("192.168.1.0/25", "192.168.1.127", 80, true),
        ("192.168.1.0/25", "192.168.1.128", 80, false),
        ("0.0.0.0/0", "8.8.8.8", 80, true),
        ("10.0.0.0/8", "::ffff:10.1.1.1", 80, true),
        ("10.0.0.0/8", "ten.example", 80, false),
        ("fd00::/8", "fd12::1", 80, true),
        ("fd00::/8", "fe80::1", 80, false),
        ("example.com:8080", "example.com", 8080, true),
        ("example.com:8080", "example.com", 80, false),
        ("10.0.0.1:8080", "10.0.0.1", 8080, true),
        ("10.0.0.1:8080", "10.0.0.1", 80, false),
        (" a.test , b.test ", "b.test", 80, true),
        ("a.test,,b.test", "a.test", 80, true),
        ("bad/entry, a.test", "a.test", 80, true),
        ("10.0.0.0/33", "10.0.0.1", 80, false),
        ("example.com:notaport", "example.com", 80, false),
        (".", "example.com", 80, false),
    ];

    #[test]
    fn matches_as_curl_does() {
        for &(list, host, port, direct) in TABLE {
            assert_eq!(
                NoProxy::parse(list).matches(host, port),
                direct,
                "NO_PROXY={list:?} host={host:?} port={port}"
            );
        }
    }
}
