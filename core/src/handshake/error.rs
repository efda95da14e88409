//! Why an opening handshake failed.

use std::fmt;

use http::{HeaderMap, StatusCode};

/// The opening handshake failed. On the server side, [`HandshakeError::status`] is the
/// answer to send; on the client side the connection is not established.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request or response head is over the size limit.
    HeadTooLarge {
        /// The limit.
        max: usize,
    },
    /// The head has more header fields than the limit.
    TooManyHeaders,
    /// The head is not valid HTTP/1.1.
    MalformedHead(String),
    /// The request is not a WebSocket upgrade (no `Upgrade: websocket`).
    NotWebSocket,
    /// The upgrade request's method is not GET (or CONNECT over HTTP/2).
    WrongMethod(String),
    /// The upgrade request is older than HTTP/1.1.
    WrongHttpVersion,
    /// The request has no `Host`.
    MissingHost,
    /// `Connection` does not contain the `upgrade` token.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Key` is missing or not 16 bytes in base64.
    InvalidKey,
    /// `Sec-WebSocket-Version` is missing or not 13 (answered with 426 and the version).
    UnsupportedVersion(Option<String>),
    /// `Sec-WebSocket-Extensions` does not follow the grammar.
    InvalidExtensionHeader,
    /// The server answered with something other than 101 (200 over HTTP/2; the client side
    /// keeps its status and headers).
    Rejected {
        /// The status the server answered with.
        status: StatusCode,
        /// Its headers.
        headers: Box<HeaderMap>,
    },
    /// The response lacks `Upgrade: websocket`.
    ResponseMissingUpgrade,
    /// `Sec-WebSocket-Accept` is missing or wrong.
    InvalidAccept,
    /// The server chose a subprotocol the client did not offer.
    UnexpectedProtocol(String),
    /// The server answered with an extension the client did not offer, or an answer the
    /// extension rejects.
    UnexpectedExtension(String),
    /// The URL is not a `ws://` or `wss://` URL with a host.
    InvalidUrl(String),
    /// A header that must appear once appeared more than once (`Host`, `Upgrade`,
    /// `Origin`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version`): which value counts would be a
    /// guess, and `Origin: good` followed by `Origin: evil` must not pass an allow-list.
    DuplicateHeader(&'static str),
    /// An upgrade request with a body (`Content-Length` other than 0, or
    /// `Transfer-Encoding`): what follows the head must be WebSocket frames.
    UnexpectedBody,
    /// The request's body framing is invalid (RFC 9112 §6.3): both `Transfer-Encoding` and
    /// `Content-Length`, `Content-Length` values that differ, or one that is not a number.
    /// Two readers of such a head (a proxy and this server) can disagree on where its body
    /// ends and the next request starts (request smuggling), so it is refused with 400 and
    /// the connection closed, plain request or upgrade alike. Says which of the three; no
    /// peer bytes are echoed.
    InvalidFraming(&'static str),
    /// The request's `Origin` is not on the server's allow-list (answered with 403).
    ForbiddenOrigin(Option<String>),
    /// The server application chose a subprotocol the client did not offer (RFC 6455
    /// §4.2.2 lets a server pick only among the offered ones). A usage error of the server's;
    /// the request is answered with 500 rather than with a 101 the client would fail.
    ProtocolNotOffered(String),
    /// The server answered the upgrade request with TLS records instead of HTTP: the URL says
    /// `ws://` but the port speaks TLS (use `wss://`).
    ServerSpeaksTls,
    /// The client opened TLS (a ClientHello) on this plain port: its URL says `wss://` for a
    /// `ws://` server. Answered with 400 at once.
    ClientSpeaksTls,
    /// An HTTP/2 extended CONNECT (RFC 8441 §4) whose `:protocol` is not `websocket`: a
    /// tunnel this server does not implement. Answered with 501 (RFC 9110 §15.6.2: the server
    /// lacks the functionality the request needs), not 400: the request is well-formed, and
    /// the client can tell "this server does not speak that protocol" from "malformed".
    UnsupportedProtocol(String),
    /// A request that looks like an HTTP/2 extended CONNECT but is not carried by HTTP/2
    /// (RFC 8441 defines `:protocol` for HTTP/2 only).
    NotHttp2,
    /// Client side: a WebSocket over HTTP/2 was asked for without fallback, and the server
    /// cannot carry one: it did not choose `h2` in ALPN, did not answer the HTTP/2 preface,
    /// or did not announce SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3). Says which.
    Http2Unavailable(&'static str),
}

impl HandshakeError {
    /// The HTTP status a server answers this error with.
    ///
    /// ```
    /// use ropeway_core::HandshakeError;
    ///
    /// assert_eq!(HandshakeError::UnsupportedVersion(Some("8".into())).status(), 426);
    /// assert_eq!(HandshakeError::ForbiddenOrigin(None).status(), 403);
    /// assert_eq!(HandshakeError::HeadTooLarge { max: 8192 }.status(), 431);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            HandshakeError::UnsupportedVersion(_) => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::WrongMethod(_) => StatusCode::METHOD_NOT_ALLOWED,
            HandshakeError::ForbiddenOrigin(_) => StatusCode::FORBIDDEN,
            HandshakeError::ProtocolNotOffered(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HandshakeError::UnsupportedProtocol(_) => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::HeadTooLarge { max } => write!(f, "HTTP head over {max} bytes"),
            HandshakeError::TooManyHeaders => f.write_str("too many header fields"),
            HandshakeError::MalformedHead(e) => write!(f, "malformed HTTP head: {e}"),
            HandshakeError::NotWebSocket => f.write_str("not a WebSocket upgrade request"),
            HandshakeError::WrongMethod(m) => write!(f, "method {m} cannot open a WebSocket"),
            HandshakeError::WrongHttpVersion => f.write_str("WebSocket needs HTTP/1.1 or later"),
            HandshakeError::MissingHost => f.write_str("missing Host header"),
            HandshakeError::MissingConnectionUpgrade => {
                f.write_str("Connection header lacks the upgrade token")
            }
            HandshakeError::InvalidKey => f.write_str("missing or invalid Sec-WebSocket-Key"),
            HandshakeError::UnsupportedVersion(v) => match v {
                Some(v) => write!(f, "unsupported Sec-WebSocket-Version {v:?} (13 expected)"),
                None => f.write_str("missing Sec-WebSocket-Version"),
            },
            HandshakeError::InvalidExtensionHeader => {
                f.write_str("malformed Sec-WebSocket-Extensions")
            }
            HandshakeError::Rejected { status, .. } => write!(f, "server answered {status}"),
            HandshakeError::ResponseMissingUpgrade => {
                f.write_str("response lacks Upgrade: websocket")
            }
            HandshakeError::InvalidAccept => f.write_str("wrong Sec-WebSocket-Accept"),
            HandshakeError::UnexpectedProtocol(p) => {
                write!(f, "server chose subprotocol {p:?}, which was not offered")
            }
            HandshakeError::UnexpectedExtension(e) => write!(f, "unacceptable extension: {e}"),
            HandshakeError::InvalidUrl(u) => write!(f, "invalid WebSocket URL: {u}"),
            HandshakeError::ForbiddenOrigin(o) => write!(f, "origin {o:?} is not allowed"),
            HandshakeError::DuplicateHeader(name) => write!(f, "more than one {name} header"),
            HandshakeError::UnexpectedBody => f.write_str("an upgrade request cannot have a body"),
            HandshakeError::InvalidFraming(why) => write!(f, "invalid message framing: {why}"),
            HandshakeError::ProtocolNotOffered(p) => {
                write!(f, "subprotocol {p:?} was not offered by the client")
            }
            HandshakeError::ClientSpeaksTls => {
                f.write_str("the client speaks TLS to this plain port: use ws://, not wss://")
            }
            HandshakeError::ServerSpeaksTls => {
                f.write_str("the server speaks TLS on this port: use wss://, not ws://")
            }
            HandshakeError::UnsupportedProtocol(p) => {
                write!(
                    f,
                    "extended CONNECT for {p:?}: only websocket is implemented"
                )
            }
            HandshakeError::NotHttp2 => f.write_str("extended CONNECT needs HTTP/2"),
            HandshakeError::Http2Unavailable(why) => {
                write!(f, "no WebSocket over HTTP/2 with this server: {why}")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}
