//! The server side of the opening handshake.

use std::sync::Arc;

use bytes::{Buf, BytesMut};
use http::header::{
    CONNECTION, CONTENT_TYPE, HOST, HeaderName, ORIGIN, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};

use super::WEBSOCKET_VERSION;
use super::accept_key::{accept_key, is_valid_key};
use super::error::HandshakeError;
use super::head::{BodyFraming, HeadFinder, body_framing, parse_error, to_header_map};
use super::headers::{has_token, joined, list_elements};
use crate::extension::{Extension, ExtensionOffer, ServerExtension, parse_extensions};
use crate::limits::Limits;

/// Reads an HTTP/1.1 request head from bytes that may arrive in any pieces.
#[derive(Debug)]
pub struct RequestReader {
    finder: HeadFinder,
    max_size: usize,
    max_headers: usize,
}

impl RequestReader {
    /// A reader bounded by the handshake limits.
    pub fn new(limits: &Limits) -> Self {
        RequestReader {
            finder: HeadFinder::default(),
            max_size: limits.max_handshake_size,
            max_headers: limits.max_handshake_headers,
        }
    }

    /// Input: parses the request once its head is complete in `input`, and splits the head
    /// off; bytes after it (the first frames) stay in `input`. `Ok(None)`: read more.
    /// A head whose body framing is invalid (RFC 9112 §6.3: `Transfer-Encoding` with
    /// `Content-Length`, differing or non-numeric `Content-Length`) is an error
    /// ([`HandshakeError::InvalidFraming`], 400), whatever the request.
    pub fn recv(&mut self, input: &mut BytesMut) -> Result<Option<Request<()>>, HandshakeError> {
        // A TLS ClientHello (a handshake record, 0x16, of TLS 1.x) where a request line
        // belongs: a wss:// URL for this plain port. Answered at once (400) rather than
        // after the handshake timeout, so the client's TLS layer reads plain HTTP and can
        // say so.
        if let [0x16, 0x03, ..] = input[..] {
            return Err(HandshakeError::ClientSpeaksTls);
        }
        let Some(end) = self.finder.find(input, self.max_size)? else {
            return Ok(None);
        };
        let mut fields = vec![httparse::EMPTY_HEADER; self.max_headers];
        let mut parsed = httparse::Request::new(&mut fields);
        parsed.parse(&input[..end]).map_err(parse_error)?;
        let malformed = |what: &str| HandshakeError::MalformedHead(what.to_owned());
        let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
            .map_err(|_| malformed("method"))?;
        let version = match parsed.version {
            Some(1) => Version::HTTP_11,
            _ => Version::HTTP_10,
        };
        let mut request = Request::builder()
            .method(method)
            .uri(parsed.path.unwrap_or_default())
            .version(version)
            .body(())
            .map_err(|e| HandshakeError::MalformedHead(e.to_string()))?;
        *request.headers_mut() = to_header_map(parsed.headers)?;
        // Checked for every request, not only upgrades: a plain request whose framing is in
        // doubt is the smuggling case, and the runtime must answer it with 400, not route it.
        body_framing(request.headers())?;
        input.advance(end);
        Ok(Some(request))
    }
}

/// Whether a request asks for a WebSocket (`Upgrade: websocket`), so an application can tell
/// it from a plain request on the same route (and answer a plain one with 400).
///
/// ```
/// use ropeway_core::http;
/// use ropeway_core::handshake::is_websocket_request;
///
/// let page = http::Request::get("/").body(()).unwrap();
/// assert!(!is_websocket_request(&page));
/// let ws = http::Request::get("/ws").header("upgrade", "websocket").body(()).unwrap();
/// assert!(is_websocket_request(&ws));
/// ```
pub fn is_websocket_request<B>(request: &Request<B>) -> bool {
    has_token(request.headers(), UPGRADE, "websocket")
}

/// A validated WebSocket opening request: what the application routes and decides on.
///
/// ```
/// use ropeway_core::http;
/// use ropeway_core::handshake::UpgradeRequest;
///
/// let request = http::Request::get("/chat?room=1")
///     .header("host", "example.com")
///     .header("upgrade", "websocket")
///     .header("connection", "Upgrade")
///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("sec-websocket-version", "13")
///     .header("sec-websocket-protocol", "chat.v1, chat.v2")
///     .header("origin", "https://example.com")
///     .body(())
///     .unwrap();
/// let upgrade = UpgradeRequest::from_request(request).unwrap();
/// assert_eq!((upgrade.path(), upgrade.query()), ("/chat", Some("room=1")));
/// assert_eq!(upgrade.origin(), Some("https://example.com"));
/// assert_eq!(upgrade.protocols(), ["chat.v1", "chat.v2"]);
/// // The client's first offer that the server supports.
/// assert_eq!(upgrade.select_protocol(&["chat.v2", "chat.v1"]), Some("chat.v1"));
/// assert_eq!(upgrade.select_protocol(&["chat.v3"]), None);
/// ```
#[derive(Debug)]
pub struct UpgradeRequest {
    request: Request<()>,
    /// `None` for an HTTP/2 extended CONNECT, which has no key.
    key: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
}

impl UpgradeRequest {
    /// Validates an HTTP/1.1 upgrade request (RFC 6455 §4.2.1): `Upgrade: websocket`, GET,
    /// HTTP/1.1 or later, `Host`, `Connection: upgrade`, version 13, a 16-byte key.
    /// No body, and no invalid body framing (RFC 9112 §6.3), which is refused even where a
    /// [`RequestReader`] did not parse the head.
    ///
    /// A malformed `Sec-WebSocket-Extensions` is not an error: its offers are ignored and the
    /// connection opens without extensions.
    pub fn from_request(request: Request<()>) -> Result<Self, HandshakeError> {
        let headers = request.headers();
        if !is_websocket_request(&request) {
            return Err(HandshakeError::NotWebSocket);
        }
        check_single_headers(headers)?;
        // Again here: adapters that parse the head themselves (hyper) call this directly.
        if has_body(headers)? {
            return Err(HandshakeError::UnexpectedBody);
        }
        if request.method() != Method::GET {
            return Err(HandshakeError::WrongMethod(request.method().to_string()));
        }
        if request.version() < Version::HTTP_11 {
            return Err(HandshakeError::WrongHttpVersion);
        }
        if !headers.contains_key(HOST) {
            return Err(HandshakeError::MissingHost);
        }
        if !has_token(headers, CONNECTION, "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        check_version(headers)?;
        let key = match headers
            .get_all(SEC_WEBSOCKET_KEY)
            .iter()
            .collect::<Vec<_>>()[..]
        {
            [key] if is_valid_key(key.as_bytes()) => key.to_str().unwrap_or_default().to_owned(),
            _ => return Err(HandshakeError::InvalidKey),
        };
        Ok(Self::validated(request, Some(key)))
    }

    /// Validates an HTTP/2 extended CONNECT (RFC 8441 §4, §5) with the `:protocol` value the
    /// HTTP/2 layer received (`None`: a plain CONNECT). The same routing data as an HTTP/1.1
    /// upgrade (path, query, headers, origin, subprotocols, extensions), but no key: the
    /// answer is 200 without `Sec-WebSocket-Accept`. `Sec-WebSocket-Version: 13` is still
    /// required (RFC 8441 §5).
    ///
    /// Errors, in this order: not CONNECT → 405; no `:protocol` (a plain CONNECT, a proxy
    /// tunnel) → 400 ([`HandshakeError::NotWebSocket`]); not HTTP/2 → 400; a `:protocol` other
    /// than `websocket` → 501 ([`HandshakeError::UnsupportedProtocol`]); a body
    /// (`Content-Length` other than 0) or invalid body framing → 400; a duplicated deciding
    /// header → 400; a wrong or missing version → 426 with `Sec-WebSocket-Version: 13`.
    pub fn from_extended_connect(
        request: Request<()>,
        protocol: Option<&str>,
    ) -> Result<Self, HandshakeError> {
        if request.method() != Method::CONNECT {
            return Err(HandshakeError::WrongMethod(request.method().to_string()));
        }
        let Some(protocol) = protocol else {
            return Err(HandshakeError::NotWebSocket);
        };
        if request.version() != Version::HTTP_2 {
            return Err(HandshakeError::NotHttp2);
        }
        // The `:protocol` value is an HTTP Upgrade Token (RFC 8441 §4): tokens compare
        // case-insensitively, as `Upgrade: WebSocket` does over HTTP/1.1.
        if !protocol.eq_ignore_ascii_case("websocket") {
            return Err(HandshakeError::UnsupportedProtocol(protocol.to_owned()));
        }
        let headers = request.headers();
        if has_body(headers)? {
            // The stream after the 200 carries WebSocket frames, not a request body.
            return Err(HandshakeError::UnexpectedBody);
        }
        check_single_headers(headers)?;
        check_version(headers)?;
        Ok(Self::validated(request, None))
    }

    /// [`UpgradeRequest::from_extended_connect`] for a request whose `:protocol` the HTTP/2
    /// layer has already checked is `websocket`.
    pub fn from_h2_connect(request: Request<()>) -> Result<Self, HandshakeError> {
        Self::from_extended_connect(request, Some("websocket"))
    }

    fn validated(request: Request<()>, key: Option<String>) -> Self {
        let headers = request.headers();
        let protocols = list_elements(headers, SEC_WEBSOCKET_PROTOCOL)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let extensions = joined(headers, SEC_WEBSOCKET_EXTENSIONS)
            .and_then(|v| parse_extensions(&v).ok())
            .unwrap_or_default();
        UpgradeRequest {
            request,
            key,
            protocols,
            extensions,
        }
    }

    /// The whole request: method, URI, version, headers.
    pub fn request(&self) -> &Request<()> {
        &self.request
    }

    /// The request's path, e.g. `/ws`.
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// The request's query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.request.uri().query()
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }

    /// The `Origin` a browser sent (CORS does not protect WebSockets: check it).
    pub fn origin(&self) -> Option<&str> {
        self.request.headers().get(ORIGIN)?.to_str().ok()
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions the client offered, in its order of preference.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Whether this request came as an HTTP/2 extended CONNECT.
    pub fn is_h2(&self) -> bool {
        self.key.is_none()
    }

    /// The HTTP version that carried the request: HTTP/1.1 (an upgrade) or HTTP/2 (an
    /// extended CONNECT).
    pub fn http_version(&self) -> Version {
        self.request.version()
    }

    /// The first offered subprotocol that `supported` contains.
    pub fn select_protocol(&self, supported: &[&str]) -> Option<&str> {
        self.protocols
            .iter()
            .map(String::as_str)
            .find(|p| supported.contains(p))
    }

    /// Negotiates extensions: each of the server's extensions, in order, looks at the client's
    /// offers of it; the first that accepts one wins (one RSV-claiming extension at a time).
    /// Offers nobody honours are declined, never refused.
    pub fn negotiate(
        &self,
        extensions: &[Arc<dyn ServerExtension>],
    ) -> Option<(ExtensionOffer, Box<dyn Extension>)> {
        extensions.iter().find_map(|ext| {
            let offers: Vec<&ExtensionOffer> = self
                .extensions
                .iter()
                .filter(|o| o.name.eq_ignore_ascii_case(ext.name()))
                .collect();
            if offers.is_empty() {
                return None;
            }
            ext.negotiate(&offers)
        })
    }

    /// The answer that accepts the request: 101 with `Sec-WebSocket-Accept` over HTTP/1.1,
    /// 200 over HTTP/2, with the chosen subprotocol, extension answers and extra headers.
    pub fn accept(&self, accept: &Accept) -> Response<()> {
        let mut response = Response::new(());
        match &self.key {
            Some(key) => {
                *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                let headers = response.headers_mut();
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
                let accept = accept_key(key.as_bytes());
                headers.insert(SEC_WEBSOCKET_ACCEPT, header_value(&accept));
            }
            None => {
                // RFC 8441 §5: a 2xx answer, no Upgrade/Connection (connection-specific
                // headers are forbidden in HTTP/2) and no Sec-WebSocket-Accept.
                *response.status_mut() = StatusCode::OK;
                *response.version_mut() = Version::HTTP_2;
            }
        }
        let headers = response.headers_mut();
        if let Some(protocol) = &accept.protocol {
            headers.insert(SEC_WEBSOCKET_PROTOCOL, header_value(protocol));
        }
        if !accept.extensions.is_empty() {
            let list: Vec<String> = accept.extensions.iter().map(ToString::to_string).collect();
            headers.insert(SEC_WEBSOCKET_EXTENSIONS, header_value(&list.join(", ")));
        }
        for (name, value) in &accept.headers {
            headers.append(name, value.clone());
        }
        response
    }
}

/// Whether an upgrade request has a body (what follows its head must be frames), or an
/// error when its framing is invalid.
fn has_body(headers: &HeaderMap) -> Result<bool, HandshakeError> {
    Ok(!matches!(
        body_framing(headers)?,
        BodyFraming::None | BodyFraming::Length(0)
    ))
}

/// Headers whose value decides something and so must appear once.
pub(crate) fn check_single_headers(headers: &HeaderMap) -> Result<(), HandshakeError> {
    const SINGLE: [(HeaderName, &str); 5] = [
        (HOST, "Host"),
        (UPGRADE, "Upgrade"),
        (ORIGIN, "Origin"),
        (SEC_WEBSOCKET_KEY, "Sec-WebSocket-Key"),
        (SEC_WEBSOCKET_VERSION, "Sec-WebSocket-Version"),
    ];
    for (name, shown) in SINGLE {
        if headers.get_all(&name).iter().nth(1).is_some() {
            return Err(HandshakeError::DuplicateHeader(shown));
        }
    }
    Ok(())
}

fn check_version(headers: &HeaderMap) -> Result<(), HandshakeError> {
    let versions = headers
        .get_all(SEC_WEBSOCKET_VERSION)
        .iter()
        .collect::<Vec<_>>();
    match versions[..] {
        [v] if v == WEBSOCKET_VERSION => Ok(()),
        [] => Err(HandshakeError::UnsupportedVersion(None)),
        _ => Err(HandshakeError::UnsupportedVersion(joined(
            headers,
            SEC_WEBSOCKET_VERSION,
        ))),
    }
}

fn header_value(s: &str) -> HeaderValue {
    // Every value here is built from validated header text, so this cannot fail; an empty
    // value is the harmless fallback.
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What the application answers an [`UpgradeRequest`] with.
///
/// ```
/// use ropeway_core::http::{HeaderValue, header::SET_COOKIE};
/// use ropeway_core::handshake::Accept;
///
/// let mut accept = Accept {
///     protocol: Some("chat.v1".into()), // must be one the client offered, or the answer is 500
///     ..Accept::default()
/// };
/// accept.headers.insert(SET_COOKIE, HeaderValue::from_static("session=1"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Accept {
    /// The chosen subprotocol: one the client offered.
    pub protocol: Option<String>,
    /// Extension answers, from [`UpgradeRequest::negotiate`].
    pub extensions: Vec<ExtensionOffer>,
    /// Extra headers for the response (cookies, tracing ids).
    pub headers: HeaderMap,
}

/// A rejection: `status` with a short plain-text body. A 426 carries
/// `Sec-WebSocket-Version: 13`, telling the client which version to use.
///
/// ```
/// use ropeway_core::http::StatusCode;
/// use ropeway_core::handshake::reject;
///
/// let response = reject(StatusCode::UPGRADE_REQUIRED);
/// assert_eq!(response.headers()["sec-websocket-version"], "13");
/// ```
pub fn reject(status: StatusCode) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if status == StatusCode::UPGRADE_REQUIRED {
        headers.insert(
            SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static(WEBSOCKET_VERSION),
        );
    }
    response
}
