//! The transport of a WebSocket from [`super::connect`]: an HTTP/2 stream, or the
//! connection of an HTTP/1.1 fallback.

use super::stream::H2Stream;
use crate::tls::MaybeTlsStream;

/// Where a WebSocket from [`super::connect`] runs.
#[derive(Debug)]
pub enum Transport {
    /// One stream of an HTTP/2 connection (RFC 8441).
    H2(H2Stream),
    /// A TCP or TLS connection of its own, after an HTTP/1.1 upgrade (the fallback).
    Http1(MaybeTlsStream),
}

impl Transport {
    /// The HTTP version that carries the WebSocket.
    pub fn http_version(&self) -> http::Version {
        match self {
            Transport::H2(_) => http::Version::HTTP_2,
            Transport::Http1(_) => http::Version::HTTP_11,
        }
    }
}

crate::delegate_io::delegate_io!(Transport {
    H2(s) => std::pin::Pin::new(s),
    Http1(s) => std::pin::Pin::new(s),
});
