//! What ended a connection or an attempt, and whether trying again can help.
//!
//! Transient: the network or the server is briefly away (refused, reset, timed out, a name
//! that does not resolve yet, 408, 429, 5xx, a server closing with 1000, 1001, 1005, 1006,
//! 1011, 1012, 1013 or 1014). Fatal: asking again gets the same answer (an invalid URL, a
//! 4xx such as 401 or 403, a server that does not speak WebSocket or TLS as configured, a
//! certificate that is not trusted, a usage error, a close code that says this client broke
//! something: 1002, 1003, 1007, 1008, 1009, 1010, or an application code 3000–4999, whose
//! meaning only the application knows). An application that closes ends the session
//! itself and asks nothing.

use std::io;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode, header::RETRY_AFTER};

use crate::close::{CloseCode, CloseFrame};
use crate::driver::Error;
use crate::error::ConnectionError;
use crate::handshake::HandshakeError;
use crate::proxy::ProxyError;

/// Why a reconnecting client is not connected: what it reports to the application with
/// each drop, and what the schedule decides on.
#[derive(Debug)]
pub enum Disconnect {
    /// Connecting, the opening handshake or the open connection failed.
    Failed(Error),
    /// The server closed the connection (the close handshake completed) with this frame.
    Closed(Option<CloseFrame>),
}

impl std::fmt::Display for Disconnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disconnect::Failed(e) => write!(f, "{e}"),
            Disconnect::Closed(Some(frame)) => {
                write!(f, "closed by the server with {}", frame.code.0)?;
                if !frame.reason.is_empty() {
                    write!(f, " ({})", frame.reason)?;
                }
                Ok(())
            }
            Disconnect::Closed(None) => f.write_str("closed by the server without a code"),
        }
    }
}

/// The verdict on a [`Disconnect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Trying again may work; not before `not_before` if the server said so (`Retry-After`).
    Transient {
        /// The wait the server asked for, uncapped.
        not_before: Option<Duration>,
    },
    /// Trying again gets the same answer: give up.
    Fatal,
}

/// Classifies `disconnect`. `date` is the wall-clock time, needed only for a `Retry-After`
/// given as an HTTP date.
///
/// ```
/// use std::time::SystemTime;
/// use ropeway_core::CloseFrame;
/// use ropeway_core::reconnect::{Disconnect, Verdict, classify};
///
/// let restart = Disconnect::Closed(Some(CloseFrame::new(1012, "restarting")));
/// assert_eq!(classify(&restart, SystemTime::now()), Verdict::Transient { not_before: None });
/// let policy = Disconnect::Closed(Some(CloseFrame::new(1008, "banned")));
/// assert_eq!(classify(&policy, SystemTime::now()), Verdict::Fatal);
/// ```
pub fn classify(disconnect: &Disconnect, date: SystemTime) -> Verdict {
    let transient = match disconnect {
        Disconnect::Failed(error) => return classify_error(error, date),
        Disconnect::Closed(frame) => is_transient_close(frame.as_ref().map(|f| f.code)),
    };
    if transient {
        Verdict::Transient { not_before: None }
    } else {
        Verdict::Fatal
    }
}

/// Whether a server's close with `code` (`None`: no code, 1005) is worth reconnecting after.
pub fn is_transient_close(code: Option<CloseCode>) -> bool {
    match code {
        None => true,
        Some(code) => matches!(
            code,
            CloseCode::NORMAL
                | CloseCode::GOING_AWAY
                | CloseCode::NO_STATUS
                | CloseCode::ABNORMAL
                | CloseCode::INTERNAL_ERROR
                | CloseCode::SERVICE_RESTART
                | CloseCode::TRY_AGAIN_LATER
                | CloseCode::BAD_GATEWAY
        ),
    }
}

fn classify_error(error: &Error, date: SystemTime) -> Verdict {
    let transient = match error {
        Error::Io(e) => is_transient_io(e),
        Error::Handshake(HandshakeError::Rejected { status, headers }) => {
            return classify_status(*status, headers, date);
        }
        // Any other handshake failure is a URL, a server or a configuration that does not
        // fit (no WebSocket there, TLS on a plain port, a wrong accept key): it will not fix
        // itself.
        Error::Handshake(_) => false,
        Error::Connection(ConnectionError::Protocol(e)) => is_transient_close(Some(e.close_code())),
        Error::Connection(_) | Error::HandshakeTimeout | Error::ConnectTimeout => true,
        // The connection ended; what ended it was reported on its own.
        Error::Closed => true,
        Error::Usage(_) | Error::OriginRejected(_) | Error::Tls(_) => false,
        Error::Proxy(e) => is_transient_proxy_error(e),
    };
    if transient {
        Verdict::Transient { not_before: None }
    } else {
        Verdict::Fatal
    }
}

/// A proxy that is down, slow, overloaded or cannot reach the target now is transient; one
/// that refuses the credentials, forbids the target, or is configured wrong (a bad URL, a
/// port that speaks something else, a setup this client does not support) is not.
fn is_transient_proxy_error(error: &ProxyError) -> bool {
    match error {
        ProxyError::Unreachable { .. } | ProxyError::ClosedEarly | ProxyError::Timeout => true,
        ProxyError::HttpRefused { status, .. } => {
            *status == 408 || *status == 429 || (500..600).contains(status)
        }
        // General failure, network or host unreachable, connection refused, TTL expired;
        // not "not allowed by ruleset" (2) or what the proxy does not support (7, 8).
        ProxyError::SocksRefused(reply) => matches!(reply.code(), 1 | 3 | 4 | 5 | 6),
        // SOCKS4: 91 is "rejected or failed"; 92 and 93 are identd trouble.
        ProxyError::Socks4Refused(code) => *code == 91,
        _ => false,
    }
}

/// Network trouble is transient, whatever its kind (refused, reset, unreachable, a name that
/// does not resolve: the OS reports those as `Other` or `Uncategorized`); an address or an
/// operation the system rejects as such is not.
fn is_transient_io(error: &io::Error) -> bool {
    !matches!(
        error.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
    )
}

/// 408, 429 and 5xx are transient (429 and 503 with their `Retry-After`); every other answer
/// (401 and 403 for credentials, 404, a redirect this client does not follow) is final.
fn classify_status(status: StatusCode, headers: &HeaderMap, date: SystemTime) -> Verdict {
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        Verdict::Transient {
            not_before: retry_after(headers, date),
        }
    } else if status == StatusCode::REQUEST_TIMEOUT || status.is_server_error() {
        Verdict::Transient { not_before: None }
    } else {
        Verdict::Fatal
    }
}

/// The wait a `Retry-After` header asks for (RFC 9110 §10.2.3): delay-seconds, or an HTTP
/// date (taken relative to `date`; one in the past asks for no wait). `None` without the
/// header or for a value that is neither.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use ropeway_core::http::HeaderMap;
/// use ropeway_core::reconnect::retry_after;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "120".parse().unwrap());
/// assert_eq!(retry_after(&headers, SystemTime::now()), Some(Duration::from_secs(120)));
/// ```
pub fn retry_after(headers: &HeaderMap, date: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // A number too long for u64 is a wait longer than any cap: saturate.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(date).unwrap_or(Duration::ZERO))
}
