//! Why reaching the target through a proxy failed. No variant holds a password or an
//! `Authorization` value, so printing one (`Display` or `Debug`) never leaks a secret.

use std::fmt;
use std::io;
use std::sync::Arc;

/// The proxy step failed: the proxy could not be reached, refused the tunnel, or does not
/// speak the protocol its URL says.
///
/// ```
/// use ropeway_core::proxy::{ProxyError, SocksReply};
///
/// let refused = ProxyError::SocksRefused(SocksReply::from_code(4));
/// assert_eq!(refused.to_string(), "the SOCKS5 proxy could not reach the target: host unreachable (reply 4)");
/// let auth = ProxyError::HttpRefused { status: 407, reason: "Proxy Authentication Required".into(), authenticate: Some("Basic".into()) };
/// assert!(auth.is_auth_failure());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL is not `http://`, `https://`, `socks5://` or `socks5h://` with a host and
    /// a valid port. The text names the problem and shows the URL with its password
    /// replaced by `***`.
    InvalidUrl(String),
    /// No TCP connection to the proxy (`host:port`): it is down, the port is closed, or the
    /// name does not resolve. The I/O error is the source.
    Unreachable {
        /// The proxy's `host:port`.
        proxy: String,
        /// Why the connection failed.
        error: Arc<io::Error>,
    },
    /// The HTTP proxy answered `CONNECT` with a status other than 2xx: 407 (credentials
    /// missing or wrong), 403 (the proxy's rules forbid the target), 502/503/504 (it could
    /// not reach the target).
    HttpRefused {
        /// The status code.
        status: u16,
        /// The reason phrase the proxy sent (at most 128 bytes of it).
        reason: String,
        /// The scheme of the first `Proxy-Authenticate` challenge (`Basic`, `Negotiate` …),
        /// if the proxy sent one (with a 407).
        authenticate: Option<String>,
    },
    /// The SOCKS5 proxy answered the connect request with a failure code (RFC 1928 §6).
    SocksRefused(SocksReply),
    /// The SOCKS4a proxy refused the request (its reply code: 91 rejected or failed, 92 and
    /// 93 identd problems).
    Socks4Refused(u8),
    /// The SOCKS5 proxy accepts none of the offered authentication methods: it wants a
    /// username and password and none were given, or a method ropeway does not implement
    /// (GSSAPI).
    SocksNoAcceptableMethod,
    /// The SOCKS5 proxy rejected the username and password (RFC 1929 status not 0).
    SocksAuthRejected,
    /// The proxy closed the connection before its answer was complete.
    ClosedEarly,
    /// The proxy's answer is not the protocol the proxy URL names (not an HTTP response,
    /// not SOCKS5): the wrong port, a TLS proxy behind an `http://` URL, or another service.
    /// Says what was wrong; no proxy bytes are echoed.
    Garbage(&'static str),
    /// The proxy's HTTP response head is over the limit
    /// ([`Limits::max_handshake_size`](crate::Limits::max_handshake_size)) or has more
    /// header fields than [`Limits::max_handshake_headers`](crate::Limits::max_handshake_headers).
    HeadTooLarge {
        /// The size limit.
        max: usize,
    },
    /// The proxy did not complete its answer within the connect timeout.
    Timeout,
    /// The proxy sent bytes past its answer before the tunnel's TLS handshake began. A TLS
    /// server speaks only after the client's hello, so these cannot be the target's.
    UnexpectedData {
        /// How many bytes.
        len: usize,
    },
    /// A name or credential longer than SOCKS5 can carry (255 bytes).
    TooLong(&'static str),
    /// A proxy setup this build does not support yet (says which).
    Unsupported(&'static str),
}

impl ProxyError {
    /// The error for a TCP connection to `proxy` that failed with `error`.
    pub fn unreachable(proxy: &super::Proxy, error: io::Error) -> Self {
        ProxyError::Unreachable {
            proxy: proxy.address(),
            error: Arc::new(error),
        }
    }

    /// Whether the proxy refused the credentials, or asked for some that were not given:
    /// HTTP 407, or a SOCKS5 authentication failure. A 401 counts too: tinyproxy (1.11)
    /// answers a wrong password with `401 Unauthorized`.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            ProxyError::HttpRefused {
                status: 401 | 407,
                ..
            } | ProxyError::SocksAuthRejected
                | ProxyError::SocksNoAcceptableMethod
        )
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl(why) => write!(f, "invalid proxy URL: {why}"),
            ProxyError::Unreachable { proxy, error } => {
                write!(f, "cannot connect to the proxy {proxy}: {error}")
            }
            ProxyError::HttpRefused {
                status,
                reason,
                authenticate,
            } => {
                write!(f, "the HTTP proxy refused the tunnel: {status} {reason}")?;
                match authenticate {
                    Some(scheme) => write!(f, " (it asks for {scheme} authentication)"),
                    None => Ok(()),
                }
            }
            ProxyError::SocksRefused(reply) => {
                write!(f, "the SOCKS5 proxy could not reach the target: {reply}")
            }
            ProxyError::Socks4Refused(code) => write!(
                f,
                "the SOCKS4a proxy refused: {} (reply {code})",
                super::socks4a::reply_name(*code)
            ),
            ProxyError::SocksNoAcceptableMethod => f.write_str(
                "the SOCKS5 proxy accepts none of the offered authentication methods \
                 (does it need a username and password?)",
            ),
            ProxyError::SocksAuthRejected => {
                f.write_str("the SOCKS5 proxy rejected the username and password")
            }
            ProxyError::ClosedEarly => {
                f.write_str("the proxy closed the connection before its answer was complete")
            }
            ProxyError::Garbage(why) => {
                write!(f, "the proxy's answer is not the expected protocol: {why}")
            }
            ProxyError::HeadTooLarge { max } => {
                write!(
                    f,
                    "the proxy's response head is over {max} bytes or has too many fields"
                )
            }
            ProxyError::Timeout => {
                f.write_str("the proxy did not answer within the connect timeout")
            }
            ProxyError::UnexpectedData { len } => write!(
                f,
                "the proxy sent {len} bytes past its answer before the tunnel's TLS began"
            ),
            ProxyError::TooLong(what) => {
                write!(f, "{what} is longer than SOCKS5 allows (255 bytes)")
            }
            ProxyError::Unsupported(what) => write!(f, "not supported yet: {what}"),
        }
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProxyError::Unreachable { error, .. } => Some(&**error),
            _ => None,
        }
    }
}

/// A SOCKS5 reply code (RFC 1928 §6), by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocksReply(u8);

impl SocksReply {
    /// The reply with `code`.
    pub fn from_code(code: u8) -> Self {
        SocksReply(code)
    }

    /// The code on the wire.
    pub fn code(self) -> u8 {
        self.0
    }

    /// The RFC's name for the code.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "succeeded",
            1 => "general failure",
            2 => "connection not allowed by ruleset",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unassigned reply code",
        }
    }
}

impl fmt::Display for SocksReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (reply {})", self.name(), self.0)
    }
}
