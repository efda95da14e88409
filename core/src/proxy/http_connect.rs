//! The HTTP/1.1 `CONNECT` handshake with a proxy (RFC 9110 §9.3.6): one request, one
//! response head; any 2xx opens the tunnel, and the bytes after the head are the tunnel's.

use base64::Engine;
use bytes::{Buf, BufMut, BytesMut};

use super::config::{Credentials, host_port};
use super::error::ProxyError;
use crate::limits::Limits;

/// How much of a refusal's reason phrase an error keeps.
const MAX_REASON: usize = 128;

/// A `CONNECT` in progress: the request was written, the proxy's answer is awaited.
#[derive(Debug)]
pub(crate) struct HttpConnect {
    max_size: usize,
    max_headers: usize,
}

impl HttpConnect {
    /// Writes `CONNECT host:port` (with `Proxy-Authorization: Basic` for `credentials`) into
    /// `out`.
    pub(crate) fn new(
        host: &str,
        port: u16,
        credentials: Option<&Credentials>,
        limits: &Limits,
        out: &mut BytesMut,
    ) -> Result<Self, ProxyError> {
        // A CR, LF or space would end the request line or a header early: a request smuggled
        // into the proxy.
        if host
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(ProxyError::InvalidUrl(
                "the target host has whitespace".into(),
            ));
        }
        let target = host_port(host, port);
        out.put_slice(b"CONNECT ");
        out.put_slice(target.as_bytes());
        out.put_slice(b" HTTP/1.1\r\nHost: ");
        out.put_slice(target.as_bytes());
        out.put_slice(b"\r\n");
        if let Some(credentials) = credentials {
            let pair = format!("{}:{}", credentials.username(), credentials.password());
            out.put_slice(b"Proxy-Authorization: Basic ");
            out.put_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(pair)
                    .as_bytes(),
            );
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"\r\n");
        Ok(HttpConnect {
            max_size: limits.max_handshake_size,
            max_headers: limits.max_handshake_headers,
        })
    }

    /// Parses the proxy's answer once its head is complete in `input`, and splits the head
    /// off: what follows stays in `input` (the tunnel's first bytes). `Ok(false)` while the
    /// head is incomplete.
    pub(crate) fn recv(&mut self, input: &mut BytesMut) -> Result<bool, ProxyError> {
        // Interim (1xx) responses before the final one are skipped (RFC 9110 §15.2).
        loop {
            match self.recv_head(input)? {
                Head::Incomplete => return Ok(false),
                Head::Interim => continue,
                Head::Tunnel => return Ok(true),
            }
        }
    }

    /// Reads one response head off `input`.
    fn recv_head(&mut self, input: &mut BytesMut) -> Result<Head, ProxyError> {
        match input[..] {
            [0x15 | 0x16, 0x03, ..] => {
                return Err(ProxyError::Garbage(
                    "TLS where an HTTP response belongs (an https:// proxy?)",
                ));
            }
            // The first byte of a TLS record alone: the next one tells (the same verdict
            // however the reply is cut).
            [0x15 | 0x16] => return Ok(Head::Incomplete),
            _ => {}
        }
        let mut fields = vec![httparse::EMPTY_HEADER; self.max_headers];
        let mut response = httparse::Response::new(&mut fields);
        // Parsed from the start on each call: the head is small and bounded, and httparse
        // tells a valid prefix (Partial) from bytes that are not HTTP at the first wrong one,
        // so garbage is reported at once instead of after the head limit or the timeout.
        // Only the first `max_size` bytes are parsed: what lies past the limit must not
        // decide the outcome, or the same reply would be garbage read whole and too large
        // read in pieces (found by the proxy_reply fuzz target).
        let window = &input[..input.len().min(self.max_size)];
        let end = match response.parse(window) {
            Ok(httparse::Status::Complete(end)) => end,
            Ok(httparse::Status::Partial) if input.len() >= self.max_size => {
                return Err(ProxyError::HeadTooLarge { max: self.max_size });
            }
            Ok(httparse::Status::Partial) => return Ok(Head::Incomplete),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ProxyError::HeadTooLarge { max: self.max_size });
            }
            Err(_) => return Err(ProxyError::Garbage("not an HTTP response")),
        };
        let status = response.code.unwrap_or_default();
        if (100..200).contains(&status) {
            input.advance(end);
            return Ok(Head::Interim);
        }
        if !(200..300).contains(&status) {
            let reason = response.reason.unwrap_or_default();
            let reason = truncate(reason, MAX_REASON).to_owned();
            let authenticate = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("proxy-authenticate"))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .and_then(|v| v.split_whitespace().next())
                .map(|scheme| truncate(scheme, MAX_REASON).to_owned());
            return Err(ProxyError::HttpRefused {
                status,
                reason,
                authenticate,
            });
        }
        input.advance(end);
        Ok(Head::Tunnel)
    }
}

/// What one response head was.
enum Head {
    /// Not complete yet.
    Incomplete,
    /// A 1xx: the final answer follows.
    Interim,
    /// A 2xx: the tunnel is open.
    Tunnel,
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(credentials: Option<&Credentials>) -> (HttpConnect, BytesMut) {
        let mut out = BytesMut::new();
        let connect =
            HttpConnect::new("ws.example", 443, credentials, &Limits::default(), &mut out).unwrap();
        (connect, out)
    }

    #[test]
    fn writes_the_connect_request_byte_exact() {
        let (_, out) = start(None);
        assert_eq!(
            &out[..],
            b"CONNECT ws.example:443 HTTP/1.1\r\nHost: ws.example:443\r\n\r\n"
        );
        let credentials = Credentials::new("Aladdin", "open sesame");
        let (_, out) = start(Some(&credentials));
        assert_eq!(
            &out[..],
            &b"CONNECT ws.example:443 HTTP/1.1\r\nHost: ws.example:443\r\n\
               Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"[..]
        );
        let mut out = BytesMut::new();
        HttpConnect::new("::1", 9001, None, &Limits::default(), &mut out).unwrap();
        assert!(out.starts_with(b"CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n"));
        assert!(HttpConnect::new("a\r\nX: y", 1, None, &Limits::default(), &mut out).is_err());
    }

    #[test]
    fn a_2xx_opens_the_tunnel_and_keeps_the_bytes_after_the_head() {
        let (mut connect, _) = start(None);
        let mut input = BytesMut::from(
            &b"HTTP/1.0 200 Connection established\r\nProxy-agent: t\r\n\r\n\x81\x02hi"[..],
        );
        assert!(connect.recv(&mut input).unwrap());
        assert_eq!(&input[..], b"\x81\x02hi");
    }

    #[test]
    fn interim_responses_are_skipped() {
        let (mut connect, _) = start(None);
        let mut input =
            BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nT"[..]);
        assert!(connect.recv(&mut input).unwrap());
        assert_eq!(&input[..], b"T");
        let mut input =
            BytesMut::from(&b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 403 Forbidden\r\n\r\n"[..]);
        let (mut connect, _) = start(None);
        assert!(matches!(
            connect.recv(&mut input),
            Err(ProxyError::HttpRefused { status: 403, .. })
        ));
    }

    #[test]
    fn waits_for_the_whole_head() {
        let (mut connect, _) = start(None);
        let mut input = BytesMut::from(&b"HTTP/1.1 200 OK\r\n"[..]);
        assert!(!connect.recv(&mut input).unwrap());
        input.extend_from_slice(b"\r\n");
        assert!(connect.recv(&mut input).unwrap());
        assert!(input.is_empty());
    }

    #[test]
    fn a_refusal_keeps_status_reason_and_scheme() {
        let (mut connect, _) = start(None);
        let mut input = BytesMut::from(
            &b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\n\r\n"[..],
        );
        let error = connect.recv(&mut input).unwrap_err();
        assert!(
            matches!(&error, ProxyError::HttpRefused { status: 407, authenticate: Some(s), .. } if s == "Basic")
        );
        assert_eq!(
            error.to_string(),
            "the HTTP proxy refused the tunnel: 407 Proxy Authentication Required (it asks for Basic authentication)"
        );
        let (mut connect, _) = start(None);
        let mut input = BytesMut::from(&b"HTTP/1.1 502 Bad Gateway\r\n\r\n"[..]);
        assert_eq!(
            connect.recv(&mut input).unwrap_err().to_string(),
            "the HTTP proxy refused the tunnel: 502 Bad Gateway"
        );
    }

    #[test]
    fn garbage_and_tls_are_named_at_once() {
        for garbage in [
            &b"SSH-2.0-OpenSSH_9.2\r\n"[..],
            b"\x05\x00",
            b"\x16\x03\x01\x00",
            b"HTTP/1.1 2x0",
        ] {
            let (mut connect, _) = start(None);
            let error = connect.recv(&mut BytesMut::from(garbage)).unwrap_err();
            assert!(
                matches!(error, ProxyError::Garbage(_)),
                "{garbage:?}: {error}"
            );
        }
    }

    #[test]
    fn tls_is_named_even_when_its_first_byte_arrives_alone() {
        let (mut connect, _) = start(None);
        let mut input = BytesMut::from(&b"\x16"[..]);
        assert!(matches!(connect.recv(&mut input), Ok(false)));
        input.extend_from_slice(b"\x03\x01\x00");
        let error = connect.recv(&mut input).unwrap_err();
        assert!(error.to_string().contains("TLS"), "{error}");
    }

    #[test]
    fn the_head_is_bounded() {
        let limits = Limits {
            max_handshake_size: 64,
            ..Limits::default()
        };
        let mut connect = HttpConnect::new("h", 1, None, &limits, &mut BytesMut::new()).unwrap();
        let mut input = BytesMut::from(&b"HTTP/1.1 200 OK\r\n"[..]);
        input.extend_from_slice(&[b'x'; 60]);
        assert!(matches!(
            connect.recv(&mut input),
            Err(ProxyError::HeadTooLarge { max: 64 })
        ));
    }

    /// A reply whose first wrong byte lies past the head limit is too large, whether it
    /// arrives whole or in pieces (the proxy_reply fuzz target found it garbage read whole
    /// and too large read in pieces).
    #[test]
    fn what_lies_past_the_head_limit_decides_nothing_whatever_the_cuts() {
        let limits = Limits {
            max_handshake_size: 64,
            ..Limits::default()
        };
        let mut reply = b"HTTP/1.1 200 OK".to_vec();
        reply.extend_from_slice(&[0xff; 70]);
        reply.extend_from_slice(b"\x04 bad\r\n\r\n");
        for cut in [0, 10, 40, 63, 64, 75, reply.len()] {
            let mut connect =
                HttpConnect::new("h", 1, None, &limits, &mut BytesMut::new()).unwrap();
            let mut input = BytesMut::from(&reply[..cut]);
            let first = connect.recv(&mut input);
            let outcome = match first {
                Ok(false) => {
                    input.extend_from_slice(&reply[cut..]);
                    connect.recv(&mut input)
                }
                other => other,
            };
            assert!(
                matches!(outcome, Err(ProxyError::HeadTooLarge { max: 64 })),
                "cut at {cut}: {outcome:?}"
            );
        }
    }
}
