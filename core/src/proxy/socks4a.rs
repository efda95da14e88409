//! The SOCKS4a client handshake: one request (`VN 4, CD 1`, port, the IP `0.0.0.x` that says
//! "a name follows", a user id, the host name) and an eight-byte reply. The proxy resolves
//! the name. SOCKS4 has a user id but no password.

use std::net::IpAddr;

use bytes::{Buf, BufMut, BytesMut};

use super::config::Credentials;
use super::error::ProxyError;

/// The reply's length: VN, CD, port, IPv4 address.
const REPLY: usize = 8;
/// CD of a granted request.
const GRANTED: u8 = 90;

/// A SOCKS4a handshake in progress.
#[derive(Debug)]
pub(crate) struct Socks4a;

impl Socks4a {
    /// Writes the request for `host:port` into `out`; the credentials' username is the user
    /// id. A password cannot be sent: SOCKS4 has none, and dropping it silently would
    /// hide a misconfiguration.
    pub(crate) fn new(
        host: &str,
        port: u16,
        credentials: Option<&Credentials>,
        out: &mut BytesMut,
    ) -> Result<Self, ProxyError> {
        if credentials.is_some_and(|c| !c.password().is_empty()) {
            return Err(ProxyError::InvalidUrl(
                "SOCKS4a has a user id but no password".into(),
            ));
        }
        let user = credentials.map_or("", |c| c.username());
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // NUL ends a field: one inside would let the rest pass as another field.
        if user.contains('\0') || host.contains('\0') || host.is_empty() || host.len() > 255 {
            return Err(ProxyError::InvalidUrl(
                "a SOCKS4a user id or host name with NUL, empty or too long".into(),
            ));
        }
        out.put_slice(&[4, 1]);
        out.put_slice(&port.to_be_bytes());
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                out.put_slice(&ip.octets());
                out.put_slice(user.as_bytes());
                out.put_u8(0);
            }
            Ok(IpAddr::V6(_)) => {
                return Err(ProxyError::Unsupported("an IPv6 target through SOCKS4a"));
            }
            Err(_) => {
                out.put_slice(&[0, 0, 0, 1]);
                out.put_slice(user.as_bytes());
                out.put_u8(0);
                out.put_slice(host.as_bytes());
                out.put_u8(0);
            }
        }
        Ok(Socks4a)
    }

    /// `Ok(true)` once the eight-byte reply grants the request (what follows stays in
    /// `input`).
    pub(crate) fn recv(&mut self, input: &mut BytesMut) -> Result<bool, ProxyError> {
        let [version, code, ..] = input[..] else {
            return Ok(false);
        };
        if version != 0 {
            return Err(ProxyError::Garbage(
                "not a SOCKS4 reply (wrong version byte)",
            ));
        }
        if code != GRANTED {
            return Err(ProxyError::Socks4Refused(code));
        }
        if input.len() < REPLY {
            return Ok(false);
        }
        input.advance(REPLY);
        Ok(true)
    }
}

/// The name of a SOCKS4 reply code.
pub(crate) fn reply_name(code: u8) -> &'static str {
    match code {
        90 => "request granted",
        91 => "request rejected or failed",
        92 => "rejected: the proxy cannot reach the client's identd",
        93 => "rejected: identd reports a different user id",
        _ => "an unknown reply code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_request_byte_exact() {
        let mut out = BytesMut::new();
        let credentials = Credentials::new("fred", "");
        Socks4a::new("ws.example", 443, Some(&credentials), &mut out).unwrap();
        assert_eq!(
            &out[..],
            b"\x04\x01\x01\xbb\x00\x00\x00\x01fred\x00ws.example\x00"
        );
        let mut out = BytesMut::new();
        Socks4a::new("10.1.2.3", 80, None, &mut out).unwrap();
        assert_eq!(&out[..], b"\x04\x01\x00\x50\x0a\x01\x02\x03\x00");
    }

    #[test]
    fn refuses_what_socks4a_cannot_carry() {
        let mut out = BytesMut::new();
        let with_password = Credentials::new("fred", "secret");
        let error = Socks4a::new("h", 1, Some(&with_password), &mut out).unwrap_err();
        assert!(!error.to_string().contains("secret"));
        assert!(Socks4a::new("::1", 1, None, &mut out).is_err());
        assert!(Socks4a::new("a\0b", 1, None, &mut out).is_err());
    }

    #[test]
    fn replies() {
        let mut granted = BytesMut::from(&b"\x00\x5a\x00\x00\x00\x00\x00\x00rest"[..]);
        assert!(Socks4a.recv(&mut granted).unwrap());
        assert_eq!(&granted[..], b"rest");
        assert!(
            !Socks4a
                .recv(&mut BytesMut::from(&b"\x00\x5a\x00"[..]))
                .unwrap()
        );
        let error = Socks4a
            .recv(&mut BytesMut::from(&b"\x00\x5b"[..]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the SOCKS4a proxy refused: request rejected or failed (reply 91)"
        );
        let garbage = Socks4a
            .recv(&mut BytesMut::from(&b"HTTP/1.1"[..]))
            .unwrap_err();
        assert!(matches!(garbage, ProxyError::Garbage(_)));
    }
}
