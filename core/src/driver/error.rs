//! The error every runtime reports: the core's typed errors plus I/O, TLS and timeouts.
//! It lives here, once, so that tokio, smol, mio and HTTP/2 streams report the same thing.

use std::fmt;
use std::io;

use crate::error::{ConnectionError, UsageError};
use crate::handshake::HandshakeError;

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
    /// The TLS layer failed.
    Tls(String),
    /// The connection has ended; nothing more can be sent.
    Closed,
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
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::Closed => f.write_str("the connection has ended"),
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
