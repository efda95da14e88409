//! The error every runtime reports: the core's typed errors plus I/O, TLS and timeouts.
//! It lives here, once, so that tokio, smol, mio and HTTP/2 streams report the same thing.

use std::fmt;
use std::io;

use crate::error::{ConnectionError, UsageError};
use crate::handshake::HandshakeError;
use crate::proxy::ProxyError;

/// Why a WebSocket operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// The opening handshake failed (on a server, the answer was already sent).
    Handshake(HandshakeError),
    /// The connection ended without a clean close: a protocol error by the peer (the close
    /// frame with its code was sent), a transport that ended abruptly (1006), a dead peer
    /// (keep-alive timeout) or a close handshake that took too long.
    Connection(ConnectionError),
    /// The application used the API in a way the protocol does not allow.
    Usage(UsageError),
    /// The opening handshake did not complete within the handshake timeout.
    HandshakeTimeout,
    /// The TCP (or TLS) connection could not be made within the connect timeout.
    ConnectTimeout,
    /// The request's `Origin` is not on the allow-list; it was answered with 403.
    OriginRejected(Option<String>),
    /// The TLS layer failed: match on [`TlsError::kind`]; the TLS library's own error (a
    /// `rustls::Error`) is its [`source`](std::error::Error::source).
    Tls(TlsError),
    /// The connection has ended; nothing more can be sent.
    Closed,
    /// The proxy step of a client's connect failed: the proxy could not be reached,
    /// refused the tunnel (with its HTTP status or SOCKS5 reply), closed early, answered in
    /// another protocol, or did not answer within the connect timeout.
    Proxy(ProxyError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Connection(e) => write!(f, "{e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::HandshakeTimeout => f.write_str("the opening handshake timed out"),
            Error::ConnectTimeout => f.write_str("connecting timed out"),
            Error::OriginRejected(origin) => write!(f, "origin {origin:?} is not allowed"),
            Error::Tls(e) => write!(f, "{e}"),
            Error::Closed => f.write_str("the connection has ended"),
            Error::Proxy(e) => write!(f, "proxy: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Connection(e) => Some(e),
            Error::Usage(e) => Some(e),
            Error::Tls(e) => Some(e),
            Error::Proxy(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        match e {
            HandshakeError::ForbiddenOrigin(origin) => Error::OriginRejected(origin),
            other => Error::Handshake(other),
        }
    }
}

impl From<ProxyError> for Error {
    fn from(e: ProxyError) -> Self {
        Error::Proxy(e)
    }
}

impl From<ConnectionError> for Error {
    fn from(e: ConnectionError) -> Self {
        Error::Connection(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        match e {
            UsageError::ConnectionEnded => Error::Closed,
            other => Error::Usage(other),
        }
    }
}

/// What went wrong with TLS, to match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The host is not a valid TLS server name (DNS name or IP address).
    InvalidServerName,
    /// The TLS handshake failed: an untrusted or mismatched certificate, no common protocol
    /// version or cipher suite, an alert from the peer. The source is the `rustls::Error`.
    Handshake,
    /// The server answered the TLS handshake with something that is not TLS (plain HTTP):
    /// the URL says `wss://` but the port speaks plain HTTP (use `ws://`).
    ServerSpeaksPlain,
    /// TLS was asked for, but the crate was built without its `tls` feature.
    NotBuilt,
}

/// A TLS failure: a [`TlsErrorKind`] and, as the [`source`](std::error::Error::source), the
/// TLS library's error (with rustls, a `rustls::Error`; downcast it to match on its
/// variants).
///
/// ```
/// use ropeway_core::driver::{TlsError, TlsErrorKind};
///
/// let error = TlsError::new(TlsErrorKind::Handshake, std::io::Error::other("bad certificate"));
/// assert_eq!(error.kind(), TlsErrorKind::Handshake);
/// assert!(error.get_ref().unwrap().downcast_ref::<std::io::Error>().is_some());
/// assert_eq!(error.to_string(), "TLS handshake failed: bad certificate");
/// ```
#[derive(Debug, Clone)]
pub struct TlsError {
    kind: TlsErrorKind,
    /// Shared so that the error stays `Clone` like the rest of the core's errors.
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl TlsError {
    /// An error of `kind` caused by the TLS library's `source` error.
    pub fn new(
        kind: TlsErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        TlsError {
            kind,
            source: Some(source.into().into()),
        }
    }

    /// An error of `kind` with no underlying error.
    pub fn from_kind(kind: TlsErrorKind) -> Self {
        TlsError { kind, source: None }
    }

    /// What went wrong.
    pub fn kind(&self) -> TlsErrorKind {
        self.kind
    }

    /// The TLS library's error, to downcast (e.g. to `rustls::Error`).
    pub fn get_ref(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            TlsErrorKind::InvalidServerName => "invalid TLS server name",
            TlsErrorKind::Handshake => "TLS handshake failed",
            TlsErrorKind::ServerSpeaksPlain => {
                "the server does not speak TLS on this port: use ws://, not wss://"
            }
            TlsErrorKind::NotBuilt => "wss:// needs the `tls` feature",
        })?;
        match &self.source {
            Some(source) => write!(f, ": {source}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.source {
            Some(source) => Some(&**source),
            None => None,
        }
    }
}
