//! The SOCKS5 client handshake (RFC 1928), with username/password authentication
//! (RFC 1929): greeting → method → (credentials → status) → CONNECT → reply. The target's
//! host name goes to the proxy (ATYP 3), which resolves it; IP addresses go as ATYP 1 or 4.

use std::net::IpAddr;

use bytes::{Buf, BufMut, BytesMut};

use super::config::Credentials;
use super::error::{ProxyError, SocksReply};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const USER_PASS: u8 = 2;
const NO_ACCEPTABLE: u8 = 0xff;
const CONNECT: u8 = 1;

/// What the client waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Method,
    AuthStatus,
    Reply,
}

/// A SOCKS5 handshake in progress.
pub(crate) struct Socks5 {
    stage: Stage,
    credentials: Option<Credentials>,
    /// The CONNECT request, sent once authentication is done.
    connect: Vec<u8>,
}

impl std::fmt::Debug for Socks5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socks5")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl Socks5 {
    /// Writes the greeting (offering no authentication, and username/password when
    /// `credentials` are given) into `out`.
    pub(crate) fn new(
        host: &str,
        port: u16,
        credentials: Option<&Credentials>,
        out: &mut BytesMut,
    ) -> Result<Self, ProxyError> {
        if let Some(c) = credentials {
            if c.username().len() > 255 || c.password().len() > 255 {
                return Err(ProxyError::TooLong("the proxy username or password"));
            }
            // RFC 1929's username is at least one byte.
            if c.username().is_empty() {
                return Err(ProxyError::InvalidUrl("an empty SOCKS5 username".into()));
            }
        }
        let connect = connect_request(host, port)?;
        match credentials {
            Some(_) => out.put_slice(&[VERSION, 2, NO_AUTH, USER_PASS]),
            None => out.put_slice(&[VERSION, 1, NO_AUTH]),
        }
        Ok(Socks5 {
            stage: Stage::Method,
            credentials: credentials.cloned(),
            connect,
        })
    }

    /// Consumes the proxy's answers in `input`, writing the next request into `out`;
    /// `Ok(true)` once the tunnel is open (what follows the reply stays in `input`).
    pub(crate) fn recv(
        &mut self,
        input: &mut BytesMut,
        out: &mut BytesMut,
    ) -> Result<bool, ProxyError> {
        loop {
            match self.stage {
                Stage::Method => {
                    let [version, method, ..] = input[..] else {
                        return Ok(false);
                    };
                    if version != VERSION {
                        return Err(ProxyError::Garbage(
                            "not a SOCKS5 proxy (wrong version byte)",
                        ));
                    }
                    input.advance(2);
                    match (method, &self.credentials) {
                        (NO_AUTH, _) => {
                            out.put_slice(&self.connect);
                            self.stage = Stage::Reply;
                        }
                        (USER_PASS, Some(c)) => {
                            // Lengths were checked in `new`.
                            out.put_u8(1);
                            out.put_u8(c.username().len() as u8);
                            out.put_slice(c.username().as_bytes());
                            out.put_u8(c.password().len() as u8);
                            out.put_slice(c.password().as_bytes());
                            self.stage = Stage::AuthStatus;
                        }
                        (NO_ACCEPTABLE, _) => return Err(ProxyError::SocksNoAcceptableMethod),
                        _ => {
                            return Err(ProxyError::Garbage(
                                "the SOCKS5 proxy chose a method that was not offered",
                            ));
                        }
                    }
                }
                Stage::AuthStatus => {
                    let [version, status, ..] = input[..] else {
                        return Ok(false);
                    };
                    // RFC 1929 says version 1; some proxies answer with SOCKS' 5.
                    if version != 1 && version != VERSION {
                        return Err(ProxyError::Garbage(
                            "a SOCKS5 authentication answer with a wrong version",
                        ));
                    }
                    if status != 0 {
                        return Err(ProxyError::SocksAuthRejected);
                    }
                    input.advance(2);
                    // The password is not needed any more.
                    self.credentials = None;
                    out.put_slice(&self.connect);
                    self.stage = Stage::Reply;
                }
                Stage::Reply => {
                    let [version, reply, ..] = input[..] else {
                        return Ok(false);
                    };
                    if version != VERSION {
                        return Err(ProxyError::Garbage("a SOCKS5 reply with a wrong version"));
                    }
                    // A failure is final whatever follows; some proxies close right after
                    // these two bytes.
                    if reply != 0 {
                        return Err(ProxyError::SocksRefused(SocksReply::from_code(reply)));
                    }
                    let address = match (input.get(3), input.get(4)) {
                        (Some(1), _) => 4,
                        (Some(4), _) => 16,
                        (Some(3), Some(&len)) => 1 + usize::from(len),
                        (None, _) | (Some(3), None) => return Ok(false),
                        (Some(_), _) => {
                            return Err(ProxyError::Garbage(
                                "a SOCKS5 reply with an unknown address type",
                            ));
                        }
                    };
                    let total = 4 + address + 2;
                    if input.len() < total {
                        return Ok(false);
                    }
                    input.advance(total);
                    return Ok(true);
                }
            }
        }
    }
}

/// The CONNECT request for `host:port`.
fn connect_request(host: &str, port: u16) -> Result<Vec<u8>, ProxyError> {
    let mut request = vec![VERSION, CONNECT, 0];
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            request.push(1);
            request.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            request.push(4);
            request.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            let len = u8::try_from(host.len())
                .map_err(|_| ProxyError::TooLong("the target host name"))?;
            if len == 0 {
                return Err(ProxyError::InvalidUrl("an empty target host".into()));
            }
            request.push(3);
            request.push(len);
            request.extend_from_slice(host.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `socks` against the proxy's `answers`, one at a time; returns what the client wrote
    /// after each answer.
    fn exchange(socks: &mut Socks5, answers: &[&[u8]]) -> (Vec<Vec<u8>>, Result<bool, ProxyError>) {
        let mut written = Vec::new();
        let mut input = BytesMut::new();
        let mut result = Ok(false);
        for answer in answers {
            input.extend_from_slice(answer);
            let mut out = BytesMut::new();
            result = socks.recv(&mut input, &mut out);
            written.push(out.to_vec());
            if result.is_err() {
                break;
            }
        }
        (written, result)
    }

    #[test]
    fn no_auth_with_a_host_name_byte_exact() {
        let mut out = BytesMut::new();
        let mut socks = Socks5::new("ws.example", 443, None, &mut out).unwrap();
        assert_eq!(&out[..], [5, 1, 0]);
        let (written, result) = exchange(
            &mut socks,
            &[&[5, 0], &[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90]],
        );
        assert_eq!(written[0], b"\x05\x01\x00\x03\x0aws.example\x01\xbb");
        assert!(written[1].is_empty());
        assert!(result.unwrap());
    }

    #[test]
    fn ips_go_as_atyp_1_and_4() {
        assert_eq!(
            connect_request("10.1.2.3", 80).unwrap(),
            [5, 1, 0, 1, 10, 1, 2, 3, 0, 80]
        );
        let v6 = connect_request("[::1]", 9001).unwrap();
        assert_eq!(&v6[..4], [5, 1, 0, 4]);
        assert_eq!(&v6[4..20], std::net::Ipv6Addr::LOCALHOST.octets());
        assert_eq!(&v6[20..], 9001u16.to_be_bytes());
        assert!(matches!(
            connect_request(&"a".repeat(256), 1),
            Err(ProxyError::TooLong(_))
        ));
    }

    #[test]
    fn username_and_password_byte_exact() {
        let mut out = BytesMut::new();
        let credentials = Credentials::new("user", "pass");
        let mut socks = Socks5::new("10.0.0.1", 80, Some(&credentials), &mut out).unwrap();
        assert_eq!(&out[..], [5, 2, 0, 2]);
        let (written, result) = exchange(
            &mut socks,
            &[&[5, 2], &[1, 0], &[5, 0, 0, 4], &[0; 16], &[0, 80, b'x']],
        );
        assert_eq!(written[0], b"\x01\x04user\x04pass");
        assert_eq!(written[1], [5, 1, 0, 1, 10, 0, 0, 1, 0, 80]);
        assert!(result.unwrap());
    }

    #[test]
    fn failures_by_name() {
        let credentials = Credentials::new("user", "wrong");
        let mut socks = Socks5::new("h", 1, Some(&credentials), &mut BytesMut::new()).unwrap();
        let (_, result) = exchange(&mut socks, &[&[5, 2], &[1, 1]]);
        assert!(matches!(result, Err(ProxyError::SocksAuthRejected)));

        let mut socks = Socks5::new("h", 1, None, &mut BytesMut::new()).unwrap();
        let (_, result) = exchange(&mut socks, &[&[5, 0xff]]);
        assert!(matches!(result, Err(ProxyError::SocksNoAcceptableMethod)));

        for (code, name) in [
            (1, "general failure"),
            (2, "connection not allowed by ruleset"),
            (4, "host unreachable"),
            (5, "connection refused"),
        ] {
            let mut socks = Socks5::new("h", 1, None, &mut BytesMut::new()).unwrap();
            let (_, result) = exchange(&mut socks, &[&[5, 0], &[5, code]]);
            let error = result.unwrap_err();
            assert!(
                matches!(&error, ProxyError::SocksRefused(r) if r.code() == code && r.name() == name),
                "{error}"
            );
        }
    }

    #[test]
    fn garbage_is_named() {
        for answers in [
            &[&b"HT"[..]][..],
            &[&[5, 2]],
            &[&[5, 0], &[4, 0]],
            &[&[5, 0], &[5, 0, 0, 9]],
        ] {
            let mut socks = Socks5::new("h", 1, None, &mut BytesMut::new()).unwrap();
            let (_, result) = exchange(&mut socks, answers);
            assert!(
                matches!(result, Err(ProxyError::Garbage(_))),
                "{answers:?}: {result:?}"
            );
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let credentials = Credentials::new("user", "hunter2");
        let socks = Socks5::new("h", 1, Some(&credentials), &mut BytesMut::new()).unwrap();
        assert!(!format!("{socks:?}").contains("hunter2"));
    }
}
