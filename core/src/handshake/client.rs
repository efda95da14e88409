//! The client side of the opening handshake.

use std::sync::Arc;

use bytes::{Buf, BufMut, BytesMut};
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Uri, Version};

use super::accept_key::{accept_key, new_key};
use super::error::HandshakeError;
use super::head::{HeadFinder, parse_error, to_header_map, write_headers};
use super::headers::{has_token, joined, list_elements};
use crate::entropy::Entropy;
use crate::extension::{ClientExtension, Extension, parse_extensions};
use crate::limits::Limits;

/// What a client asks for: where, which subprotocols, which extra headers.
///
/// ```
/// use ropeway_core::http::{HeaderName, HeaderValue};
/// use ropeway_core::handshake::ClientRequest;
///
/// let request = ClientRequest::from_url("wss://example.com/chat?room=1")
///     .unwrap()
///     .protocol("chat.v2")
///     .protocol("chat.v1")
///     .header(HeaderName::from_static("authorization"), HeaderValue::from_static("Bearer t0ken"));
/// assert_eq!((request.host(), request.port(), request.is_secure()), ("example.com", 443, true));
/// assert_eq!(request.resource(), "/chat?room=1");
/// assert!(ClientRequest::from_url("ftp://example.com").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct ClientRequest {
    host: String,
    port: u16,
    secure: bool,
    resource: String,
    protocols: Vec<String>,
    headers: HeaderMap,
}

impl ClientRequest {
    /// A request for `url`: `ws://host[:port]/path?query` or `wss://…` (`http`/`https` are
    /// taken as their WebSocket counterparts).
    pub fn from_url(url: &str) -> Result<Self, HandshakeError> {
        let invalid = || HandshakeError::InvalidUrl(url.to_owned());
        let uri: Uri = url.parse().map_err(|_| invalid())?;
        let secure = match uri.scheme_str() {
            Some("ws" | "http") => false,
            Some("wss" | "https") => true,
            _ => return Err(invalid()),
        };
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(invalid)?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let resource = uri.path_and_query().map_or("/", |p| p.as_str());
        let resource = if resource.is_empty() { "/" } else { resource }.to_owned();
        Ok(ClientRequest {
            host,
            port,
            secure,
            resource,
            protocols: Vec::new(),
            headers: HeaderMap::new(),
        })
    }

    /// Offers a subprotocol; call again to offer more, in order of preference.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Adds a header (an `Authorization` token, an `Origin`, cookies).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The host to connect to (without brackets for IPv6).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL asks for TLS (`wss://`).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The path and query.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The offered subprotocols.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// Asks for another path and query on the same server (e.g. several WebSockets on one
    /// HTTP/2 connection). An empty resource is `/`.
    pub fn set_resource(&mut self, resource: &str) {
        self.resource = if resource.is_empty() { "/" } else { resource }.to_owned();
    }

    /// The extra headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The `:authority` / `Host` value: the host, and the port unless it is the default.
    pub fn authority(&self) -> String {
        self.host_header()
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.secure { 443 } else { 80 };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// A client's handshake in progress: it wrote the request and waits for the response.
///
/// ```
/// // Both handshakes and both connections in memory: no sockets.
/// use std::time::Instant;
/// use ropeway_core::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
/// use ropeway_core::{BytesMut, Config, Event, Limits, MessageKind, SeededEntropy, ServerConfig};
///
/// let now = Instant::now();
/// let mut entropy = SeededEntropy::from_seed([7; 32]);
/// let request = ClientRequest::from_url("ws://example.com/chat").unwrap().protocol("chat.v1");
/// let mut to_server = BytesMut::new();
/// let mut client = ClientHandshake::new(&request, Vec::new(), &mut entropy, &Limits::default(), &mut to_server);
///
/// let config = ServerConfig::default();
/// let mut server = ServerHandshake::new(&config);
/// let head = server.recv(&mut to_server, &config).unwrap().expect("the whole request");
/// let accept = Accept { protocol: Some("chat.v1".into()), ..Accept::default() };
/// let accepted = server.accept(&head, accept, &config).unwrap();
/// let mut to_client = BytesMut::from(server.output());
/// let mut server_conn = accepted.into_connection(&config, now);
///
/// let answer = client.recv(&mut to_client).unwrap().expect("the whole response");
/// let (mut client_conn, _response) = answer.into_connection(&Config::default(), Box::new(entropy), now);
/// assert_eq!(client_conn.protocol(), Some("chat.v1"));
///
/// // A masked message from the client, unmasked by the server.
/// client_conn.send(MessageKind::Text, b"hello").unwrap();
/// let mut wire = BytesMut::from(client_conn.poll_transmit(now));
/// let Some(Event::Data(data)) = server_conn.recv(&mut wire).unwrap() else { panic!() };
/// assert_eq!(&data.payload[..], b"hello");
/// ```
pub struct ClientHandshake {
    expected_accept: String,
    protocols: Vec<String>,
    extensions: Vec<Arc<dyn ClientExtension>>,
    finder: HeadFinder,
    max_size: usize,
    max_headers: usize,
}

impl std::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("protocols", &self.protocols)
            .finish_non_exhaustive()
    }
}

/// A successful handshake: the server's response and what was negotiated.
pub struct ClientAccepted {
    /// The accepting response with all its headers: 101 over HTTP/1.1, a 2xx over HTTP/2.
    pub response: Response<()>,
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    /// The negotiated extension, to hand to the connection.
    pub extension: Option<Box<dyn Extension>>,
}

impl std::fmt::Debug for ClientAccepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAccepted")
            .field("response", &self.response)
            .field("protocol", &self.protocol)
            .field("extension", &self.extension.as_ref().map(|e| e.name()))
            .finish()
    }
}

impl ClientAccepted {
    /// The client-side connection, opened at `now`, masking with keys from `entropy`, with
    /// the negotiated extension. Settings equal to another connection's share one copy.
    pub fn into_connection(
        self,
        config: &crate::config::Config,
        entropy: Box<dyn Entropy>,
        now: std::time::Instant,
    ) -> (crate::connection::Connection, Response<()>) {
        let conn = crate::connection::Connection::client(
            crate::shared_config::shared(config),
            entropy,
            now,
        )
        .with_agreement(
            self.protocol,
            super::headers::agreed_extensions(self.response.headers()),
        );
        let conn = match self.extension {
            Some(extension) => conn.with_extension(extension),
            None => conn,
        };
        (conn, self.response)
    }
}

impl ClientHandshake {
    /// Writes the upgrade request for `request` into `out`, offering `extensions`, with a key
    /// from `entropy`.
    pub fn new(
        request: &ClientRequest,
        extensions: Vec<Arc<dyn ClientExtension>>,
        entropy: &mut dyn Entropy,
        limits: &Limits,
        out: &mut BytesMut,
    ) -> Self {
        let mut nonce = [0; 16];
        entropy.fill(&mut nonce);
        let key = new_key(nonce);
        let line = |out: &mut BytesMut, name: &str, value: &str| {
            out.put_slice(name.as_bytes());
            out.put_slice(b": ");
            out.put_slice(value.as_bytes());
            out.put_slice(b"\r\n");
        };
        out.put_slice(b"GET ");
        out.put_slice(request.resource.as_bytes());
        out.put_slice(b" HTTP/1.1\r\n");
        line(out, "host", &request.host_header());
        line(out, "upgrade", "websocket");
        line(out, "connection", "Upgrade");
        line(out, "sec-websocket-key", &key);
        line(out, "sec-websocket-version", super::WEBSOCKET_VERSION);
        if !request.protocols.is_empty() {
            line(out, "sec-websocket-protocol", &request.protocols.join(", "));
        }
        let offers: Vec<String> = extensions
            .iter()
            .flat_map(|e| e.offers())
            .map(|o| o.to_string())
            .collect();
        if !offers.is_empty() {
            line(out, "sec-websocket-extensions", &offers.join(", "));
        }
        write_headers(&request.headers, out);
        out.put_slice(b"\r\n");
        ClientHandshake {
            expected_accept: accept_key(key.as_bytes()),
            protocols: request.protocols.clone(),
            extensions,
            finder: HeadFinder::default(),
            max_size: limits.max_handshake_size,
            max_headers: limits.max_handshake_headers,
        }
    }

    /// Input: validates the response once its head is complete in `input` and splits the
    /// head off; bytes after it (the server's first frames) stay in `input`.
    pub fn recv(&mut self, input: &mut BytesMut) -> Result<Option<ClientAccepted>, HandshakeError> {
        // A TLS record where an HTTP status line belongs: a ws:// URL for a TLS port. An
        // alert (0x15) or handshake (0x16) record of TLS 1.x starts with these two bytes.
        if let [0x15 | 0x16, 0x03, ..] = input[..] {
            return Err(HandshakeError::ServerSpeaksTls);
        }
        let Some(end) = self.finder.find(input, self.max_size)? else {
            return Ok(None);
        };
        let mut fields = vec![httparse::EMPTY_HEADER; self.max_headers];
        let mut parsed = httparse::Response::new(&mut fields);
        parsed.parse(&input[..end]).map_err(parse_error)?;
        let status = StatusCode::from_u16(parsed.code.unwrap_or_default())
            .map_err(|e| HandshakeError::MalformedHead(e.to_string()))?;
        let headers = to_header_map(parsed.headers)?;
        input.advance(end);
        if status != StatusCode::SWITCHING_PROTOCOLS {
            return Err(HandshakeError::Rejected {
                status,
                headers: Box::new(headers),
            });
        }
        let accepted = self.validate(headers)?;
        Ok(Some(accepted))
    }

    fn validate(&self, headers: HeaderMap) -> Result<ClientAccepted, HandshakeError> {
        if !has_token(&headers, UPGRADE, "websocket") {
            return Err(HandshakeError::ResponseMissingUpgrade);
        }
        if !has_token(&headers, CONNECTION, "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        match headers
            .get_all(SEC_WEBSOCKET_ACCEPT)
            .iter()
            .collect::<Vec<_>>()[..]
        {
            [accept] if accept.as_bytes() == self.expected_accept.as_bytes() => {}
            _ => return Err(HandshakeError::InvalidAccept),
        }
        let (protocol, extension) = negotiated(&self.protocols, &self.extensions, &headers)?;
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        *response.version_mut() = Version::HTTP_11;
        *response.headers_mut() = headers;
        Ok(ClientAccepted {
            response,
            protocol,
            extension,
        })
    }
}

/// The subprotocol and the extension a server's answer chose.
pub(crate) type Negotiated = (Option<String>, Option<Box<dyn Extension>>);

/// What the server's answer chose, checked against what was offered: at most one subprotocol,
/// an offered one; each answered extension offered and answered once, its parameters
/// accepted by the offering extension. Shared by the HTTP/1.1 and the HTTP/2 handshake.
pub(crate) fn negotiated(
    protocols: &[String],
    extensions: &[Arc<dyn ClientExtension>],
    headers: &HeaderMap,
) -> Result<Negotiated, HandshakeError> {
    let protocol = match list_elements(headers, SEC_WEBSOCKET_PROTOCOL)[..] {
        [] => None,
        [p] if protocols.iter().any(|o| o == p) => Some(p.to_owned()),
        _ => {
            let chosen = joined(headers, SEC_WEBSOCKET_PROTOCOL).unwrap_or_default();
            return Err(HandshakeError::UnexpectedProtocol(chosen));
        }
    };
    Ok((protocol, accept_extensions(extensions, headers)?))
}

/// Each answered extension must have been offered, and answered once; the offering
/// extension checks its parameters.
fn accept_extensions(
    extensions: &[Arc<dyn ClientExtension>],
    headers: &HeaderMap,
) -> Result<Option<Box<dyn Extension>>, HandshakeError> {
    let Some(value) = joined(headers, SEC_WEBSOCKET_EXTENSIONS) else {
        return Ok(None);
    };
    let answers =
        parse_extensions(&value).map_err(|_| HandshakeError::UnexpectedExtension(value))?;
    let mut accepted: Option<Box<dyn Extension>> = None;
    for answer in &answers {
        let unexpected = || HandshakeError::UnexpectedExtension(answer.to_string());
        let offered = extensions
            .iter()
            .find(|e| e.name().eq_ignore_ascii_case(&answer.name))
            .ok_or_else(unexpected)?;
        if accepted.is_some() {
            // One RSV-claiming extension at a time, and each answered at most once.
            return Err(unexpected());
        }
        let extension = offered
            .accept(answer)
            .map_err(|why| HandshakeError::UnexpectedExtension(format!("{answer}: {why}")))?;
        accepted = Some(extension);
    }
    Ok(accepted)
}
