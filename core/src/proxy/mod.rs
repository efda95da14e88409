//! Proxy handshakes, sans-IO: HTTP/1.1 `CONNECT`, SOCKS5 and SOCKS4a, bytes in and bytes out, the
//! same shape as [`ClientHandshake`](crate::handshake::ClientHandshake). The runtime opens
//! TCP to the proxy, moves the bytes [`ProxyHandshake`] asks it to, and once the tunnel is
//! open runs TLS (for `wss://`) and the WebSocket handshake through it.
//!
//! * [`Proxy`]: a proxy's protocol, address and credentials, from a URL.
//! * [`ProxyConfig`]: none, one, or the environment's ([`Proxy::from_env`], [`NoProxy`]).
//! * [`ProxyHandshake`]: the tunnel's opening.
//! * [`ProxyError`]: what went wrong, without secrets.

mod config;
mod env;
mod error;
mod http_connect;
mod no_proxy;
mod socks4a;
mod socks5;

use bytes::BytesMut;

pub use config::{Credentials, Proxy, ProxyKind};
pub use env::{ProxyConfig, from_lookup};
pub use error::{ProxyError, SocksReply};
pub use no_proxy::NoProxy;

use crate::limits::Limits;
use http_connect::HttpConnect;
use socks4a::Socks4a;
use socks5::Socks5;

/// Opening a tunnel to the target through a proxy.
///
/// Polling order: write what [`new`](Self::new) put in `out`; then, until
/// [`recv`](Self::recv) returns `Ok(true)`, read from the proxy into `input`, call `recv`,
/// and write whatever it put into `out`. On the end of the stream, the error is
/// [`handle_eof`](Self::handle_eof)'s. Once open, the bytes left in `input` are the tunnel's
/// first bytes.
///
/// ```
/// use ropeway_core::BytesMut;
/// use ropeway_core::proxy::{Proxy, ProxyHandshake};
///
/// let proxy = Proxy::parse("http://user:pw@proxy:3128").unwrap();
/// let (mut out, mut input) = (BytesMut::new(), BytesMut::new());
/// let mut handshake = ProxyHandshake::new(&proxy, "ws.example", 443, &Default::default(), &mut out).unwrap();
/// assert!(out.starts_with(b"CONNECT ws.example:443 HTTP/1.1\r\n"));
/// out.clear();
/// input.extend_from_slice(b"HTTP/1.1 200 Connection established\r\n\r\n");
/// assert!(handshake.recv(&mut input, &mut out).unwrap());
/// assert!(input.is_empty() && out.is_empty());
/// ```
#[derive(Debug)]
pub struct ProxyHandshake {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Http(HttpConnect),
    Socks5(Socks5),
    Socks4a(Socks4a),
}

impl ProxyHandshake {
    /// Starts opening a tunnel to `host:port` through `proxy`, writing the first request
    /// into `out`. The proxy's HTTP response head is bounded by `limits`'
    /// [`max_handshake_size`](Limits::max_handshake_size) and
    /// [`max_handshake_headers`](Limits::max_handshake_headers).
    pub fn new(
        proxy: &Proxy,
        host: &str,
        port: u16,
        limits: &Limits,
        out: &mut BytesMut,
    ) -> Result<Self, ProxyError> {
        let credentials = proxy.credentials();
        let inner = match proxy.kind() {
            // An https:// proxy speaks CONNECT inside the TLS the runtime opened to it.
            ProxyKind::Http | ProxyKind::Https => {
                Inner::Http(HttpConnect::new(host, port, credentials, limits, out)?)
            }
            ProxyKind::Socks5 => Inner::Socks5(Socks5::new(host, port, credentials, out)?),
            ProxyKind::Socks4a => Inner::Socks4a(Socks4a::new(host, port, credentials, out)?),
        };
        Ok(ProxyHandshake { inner })
    }

    /// Input: consumes the proxy's answers in `input` and writes any next request into
    /// `out`. `Ok(true)` once the tunnel is open; the bytes left in `input` are the
    /// tunnel's.
    pub fn recv(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<bool, ProxyError> {
        match &mut self.inner {
            Inner::Http(connect) => connect.recv(input),
            Inner::Socks5(socks) => socks.recv(input, out),
            Inner::Socks4a(socks) => socks.recv(input),
        }
    }

    /// The error for the proxy closing the connection before the tunnel was open.
    pub fn handle_eof(&self) -> ProxyError {
        ProxyError::ClosedEarly
    }
}

/// The error for an I/O failure while the proxy answers: a reset or a broken pipe is the
/// proxy closing mid-handshake ([`ProxyError::ClosedEarly`], as an orderly end is); other
/// failures stay I/O errors.
pub fn io_error(error: std::io::Error) -> crate::Error {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    match error.kind() {
        BrokenPipe | ConnectionAborted | ConnectionReset | UnexpectedEof => {
            ProxyError::ClosedEarly.into()
        }
        _ => crate::Error::Io(error),
    }
}

/// Whether the bytes the proxy sent past its answer (`leftover`) may start the tunnel: for
/// a plain target they are the server's first bytes, handed to the WebSocket handshake; before
/// TLS (`secure`) there can be none, since a TLS server speaks only after the client's hello.
pub fn check_tunnel_start(secure: bool, leftover: &[u8]) -> Result<(), ProxyError> {
    if secure && !leftover.is_empty() {
        return Err(ProxyError::UnexpectedData {
            len: leftover.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Feeds `reply` to a handshake through `proxy` in chunks cut at `cuts`; the outcome, what
    /// the client wrote, and the bytes left for the tunnel.
    fn run(proxy: &Proxy, reply: &[u8], cuts: &[usize]) -> (String, Vec<u8>, Vec<u8>) {
        let mut written = BytesMut::new();
        let mut handshake =
            ProxyHandshake::new(proxy, "ws.example", 443, &Limits::default(), &mut written)
                .unwrap();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (reply.len() + 1)).collect();
        points.extend([0, reply.len()]);
        points.sort_unstable();
        let mut input = BytesMut::new();
        for pair in points.windows(2) {
            input.extend_from_slice(&reply[pair[0]..pair[1]]);
            match handshake.recv(&mut input, &mut written) {
                Ok(true) => {
                    // What the runtime reads after the tunnel opened is the tunnel's too.
                    input.extend_from_slice(&reply[pair[1]..]);
                    return ("open".into(), written.to_vec(), input.to_vec());
                }
                Ok(false) => {}
                Err(e) => return (e.to_string(), written.to_vec(), Vec::new()),
            }
        }
        (
            handshake.handle_eof().to_string(),
            written.to_vec(),
            input.to_vec(),
        )
    }

    fn replies() -> Vec<(Proxy, Vec<u8>)> {
        let http = Proxy::parse("http://u:p@proxy:3128").unwrap();
        let socks = Proxy::parse("socks5://u:p@proxy").unwrap();
        let socks_open = Proxy::parse("socks5://proxy").unwrap();
        let socks4a = Proxy::parse("socks4a://fred@proxy").unwrap();
        vec![
            (
                http.clone(),
                b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\nTUNNEL".to_vec(),
            ),
            (
                http.clone(),
                b"HTTP/1.0 407 Auth\r\nProxy-Authenticate: Basic realm=x\r\n\r\n".to_vec(),
            ),
            (
                http.clone(),
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad".to_vec(),
            ),
            (http.clone(), b"HTTP/1.1 200 OK\r\nX".to_vec()),
            (http, b"<html>garbage</html>\r\n\r\n".to_vec()),
            (
                socks.clone(),
                b"\x05\x02\x01\x00\x05\x00\x00\x03\x04host\x01\xbbTUNNEL".to_vec(),
            ),
            (socks.clone(), b"\x05\x02\x01\x01".to_vec()),
            (socks.clone(), b"\x05\x02\x01\x00\x05\x04\x00\x01".to_vec()),
            (socks, b"\x05\x02\x01\x00\x05\x00\x00\x04\x00".to_vec()),
            (
                socks_open.clone(),
                b"\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50\x81".to_vec(),
            ),
            (socks_open, b"\x05\xff".to_vec()),
            (
                socks4a.clone(),
                b"\x00\x5a\x00\x00\x00\x00\x00\x00TUNNEL".to_vec(),
            ),
            (socks4a, b"\x00\x5b\x00\x00\x00\x00\x00\x00".to_vec()),
            (
                Proxy::parse("http://proxy:3128").unwrap(),
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nTUNNEL".to_vec(),
            ),
        ]
    }

    proptest! {
        #[test]
        fn any_chunking_of_the_reply_gives_the_same_result(cuts in proptest::collection::vec(0usize..200, 0..8)) {
            for (proxy, reply) in replies() {
                let whole = run(&proxy, &reply, &[]);
                let chunked = run(&proxy, &reply, &cuts);
                prop_assert_eq!(&whole, &chunked, "{:?}", String::from_utf8_lossy(&reply));
            }
        }
    }

    #[test]
    fn the_outcomes_of_the_chunked_replies() {
        let outcomes: Vec<_> = replies().iter().map(|(p, r)| run(p, r, &[])).collect();
        let (open, _, tunnel) = &outcomes[0];
        assert_eq!((open.as_str(), &tunnel[..]), ("open", &b"TUNNEL"[..]));
        assert!(outcomes[1].0.contains("407"), "{}", outcomes[1].0);
        assert!(outcomes[2].0.contains("502 Bad Gateway"));
        assert_eq!(outcomes[3].0, ProxyError::ClosedEarly.to_string());
        assert!(outcomes[4].0.contains("not an HTTP response"));
        assert_eq!(
            (outcomes[5].0.as_str(), &outcomes[5].2[..]),
            ("open", &b"TUNNEL"[..])
        );
        assert_eq!(
            outcomes[5].1,
            b"\x05\x02\x00\x02\x01\x01u\x01p\x05\x01\x00\x03\x0aws.example\x01\xbb"
        );
        assert_eq!(outcomes[6].0, ProxyError::SocksAuthRejected.to_string());
        assert!(outcomes[7].0.contains("host unreachable"));
        assert_eq!(outcomes[8].0, ProxyError::ClosedEarly.to_string());
        assert_eq!(
            (outcomes[9].0.as_str(), &outcomes[9].2[..]),
            ("open", &b"\x81"[..])
        );
        assert!(outcomes[10].0.contains("none of the offered"));
        assert_eq!(
            (outcomes[11].0.as_str(), &outcomes[11].2[..]),
            ("open", &b"TUNNEL"[..])
        );
        assert_eq!(
            outcomes[11].1,
            b"\x04\x01\x01\xbb\x00\x00\x00\x01fred\x00ws.example\x00"
        );
        assert!(outcomes[12].0.contains("rejected or failed"));
        assert_eq!(
            (outcomes[13].0.as_str(), &outcomes[13].2[..]),
            ("open", &b"TUNNEL"[..])
        );
    }

    #[test]
    fn an_https_proxy_speaks_connect() {
        let proxy = Proxy::parse("https://proxy").unwrap();
        let mut out = BytesMut::new();
        ProxyHandshake::new(&proxy, "h", 1, &Limits::default(), &mut out).unwrap();
        assert!(out.starts_with(b"CONNECT h:1 HTTP/1.1\r\n"));
    }
}
