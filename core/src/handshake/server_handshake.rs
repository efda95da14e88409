//! The server's opening handshake as one sans-IO sequence, the same for every runtime:
//! bytes in → the request for the application to route → the answer bytes and a ready
//! [`Connection`], or the error answer (400, 403, 426, 431).
//!
//! ```
//! use std::time::Instant;
//! use ropeway_core::BytesMut;
//! use ropeway_core::handshake::{Accept, ServerHandshake};
//! use ropeway_core::ServerConfig;
//!
//! let config = ServerConfig::default();
//! let mut handshake = ServerHandshake::new(&config);
//! let mut input = BytesMut::from(
//!     &b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"[..],
//! );
//! let request = handshake.recv(&mut input, &config).unwrap().expect("a whole head");
//! assert_eq!(request.uri().path(), "/ws");
//! let accepted = handshake.accept(&request, Accept::default(), &config).unwrap();
//! assert!(handshake.output().starts_with(b"HTTP/1.1 101"));
//! let _connection = accepted.into_connection(&config, Instant::now());
//! ```

use std::time::Instant;

use bytes::{Buf, BytesMut};
use http::{HeaderValue, Request, Response, StatusCode};

use super::error::HandshakeError;
use super::head::write_response;
use super::server::{
    Accept, RequestReader, UpgradeRequest, check_single_headers, is_websocket_request, reject,
};
use crate::connection::Connection;
use crate::extension::Extension;
use crate::server_config::ServerConfig;
use crate::shared_config::shared;

/// A server's handshake in progress. Feed it what the transport reads with
/// [`ServerHandshake::recv`]; once it returns the request, answer with
/// [`ServerHandshake::accept`] or [`ServerHandshake::respond`]. Every answer, including the
/// error answers it writes itself, is queued in [`ServerHandshake::output`] for the caller to
/// write; after an error answer or a plain response, the caller closes the transport.
#[derive(Debug)]
pub struct ServerHandshake {
    reader: RequestReader,
    out: BytesMut,
}

/// An accepted WebSocket request: the answer (101 over HTTP/1.1, 200 over HTTP/2) and what
/// was negotiated, ready to become a [`Connection`].
pub struct Accepted {
    /// The response accepting the request.
    pub response: Response<()>,
    /// The subprotocol chosen (one the client offered).
    pub protocol: Option<String>,
    /// The negotiated extension, if any.
    pub extension: Option<Box<dyn Extension>>,
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accepted")
            .field("response", &self.response)
            .field("protocol", &self.protocol)
            .field("extension", &self.extension.as_ref().map(|e| e.name()))
            .finish()
    }
}

impl Accepted {
    /// The server-side connection, opened at `now`, with the negotiated extension. Settings
    /// equal to another connection's share one copy.
    pub fn into_connection(self, config: &ServerConfig, now: Instant) -> Connection {
        let extensions = super::headers::agreed_extensions(self.response.headers());
        let conn = Connection::server(shared(&config.core), now)
            .with_agreement(self.protocol, extensions)
            .with_memory_budget(config.memory_budget.clone());
        match self.extension {
            Some(extension) => conn.with_extension(extension),
            None => conn,
        }
    }
}

/// Decides how to answer a WebSocket request: validates it (HTTP/1.1 upgrade or HTTP/2
/// extended CONNECT), checks its origin against the allow-list and the chosen subprotocol
/// against the offered ones, and negotiates the configured extensions. The same decision
/// serves raw transports, hyper upgrades and HTTP/2 streams.
pub fn accept_request(
    upgrade: &UpgradeRequest,
    mut accept: Accept,
    config: &ServerConfig,
) -> Result<Accepted, HandshakeError> {
    if !config.origin_allowed(upgrade.origin()) {
        return Err(HandshakeError::ForbiddenOrigin(
            upgrade.origin().map(str::to_owned),
        ));
    }
    if let Some(protocol) = &accept.protocol
        && !upgrade.protocols().iter().any(|p| p == protocol)
    {
        return Err(HandshakeError::ProtocolNotOffered(protocol.clone()));
    }
    let mut extension = None;
    if let Some((answer, negotiated)) = upgrade.negotiate(&config.extensions) {
        accept.extensions.push(answer);
        extension = Some(negotiated);
    }
    Ok(Accepted {
        response: upgrade.accept(&accept),
        protocol: accept.protocol,
        extension,
    })
}

impl ServerHandshake {
    /// A handshake bounded by `config`'s handshake limits.
    pub fn new(config: &ServerConfig) -> Self {
        ServerHandshake {
            reader: RequestReader::new(&config.core.limits),
            out: BytesMut::new(),
        }
    }

    /// Input: the bytes read so far. Returns the request once its head is complete (the bytes
    /// after it, the first frames, stay in `input`); `Ok(None)`: read more. A head over the
    /// limits is answered with 431, a malformed one or one with invalid body framing (RFC 9112
    /// §6.3, plain request or not) with 400, and a WebSocket request from an origin not on the
    /// allow-list with 403: the answer is queued and the error returned.
    pub fn recv(
        &mut self,
        input: &mut BytesMut,
        config: &ServerConfig,
    ) -> Result<Option<Request<()>>, HandshakeError> {
        let request = match self.reader.recv(input) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        if is_websocket_request(&request)
            && let Err(e) = check_single_headers(request.headers())
        {
            // Before the origin check: with two `Origin`s, which one is checked is a guess.
            return Err(self.fail(e));
        }
        let origin = request
            .headers()
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        if is_websocket_request(&request) && !config.origin_allowed(origin) {
            let origin = origin.map(str::to_owned);
            return Err(self.fail(HandshakeError::ForbiddenOrigin(origin)));
        }
        Ok(Some(request))
    }

    /// Input: the transport ended before the head was complete.
    pub fn handle_eof(&mut self) -> HandshakeError {
        HandshakeError::MalformedHead("the connection ended inside the request head".into())
    }

    /// Accepts `request` as a WebSocket with the application's answer (subprotocol, headers):
    /// queues the 101 and returns what to build the connection from. An invalid request is
    /// answered with 400 (426 for a wrong version) and returned as an error.
    pub fn accept(
        &mut self,
        request: &Request<()>,
        accept: Accept,
        config: &ServerConfig,
    ) -> Result<Accepted, HandshakeError> {
        let decided = UpgradeRequest::from_request(clone_head(request))
            .and_then(|upgrade| accept_request(&upgrade, accept, config));
        match decided {
            Ok(accepted) => {
                write_response(&accepted.response, &[], &mut self.out);
                Ok(accepted)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Answers the request as plain HTTP (a page, a 404, a 400 for a plain request on a
    /// WebSocket route); the caller closes the transport once the answer is written.
    ///
    /// ```
    /// use ropeway_core::handshake::{ServerHandshake, reject};
    /// use ropeway_core::{BytesMut, ServerConfig, http::StatusCode};
    ///
    /// let config = ServerConfig::default();
    /// let mut handshake = ServerHandshake::new(&config);
    /// let mut input = BytesMut::from(&b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
    /// let request = handshake.recv(&mut input, &config).unwrap().unwrap();
    /// assert_eq!(request.uri().path(), "/missing");
    /// handshake.respond(reject(StatusCode::NOT_FOUND), b"no such page");
    /// assert!(handshake.output().starts_with(b"HTTP/1.1 404"));
    /// ```
    pub fn respond(&mut self, mut response: Response<()>, body: &[u8]) {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        write_response(&response, body, &mut self.out);
    }

    /// Queues the answer to `error` (its status, a plain-text body naming it, and for 426
    /// the supported version), and returns the error.
    pub fn fail(&mut self, error: HandshakeError) -> HandshakeError {
        self.respond(reject(error.status()), format!("{error}\n").as_bytes());
        error
    }

    /// Output: the answer bytes not yet written.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Output: `n` bytes of [`ServerHandshake::output`] were written.
    pub fn advance_output(&mut self, n: usize) {
        self.out.advance(n.min(self.out.len()));
    }

    /// A plain 400 answer for a non-WebSocket request on a WebSocket-only endpoint.
    pub fn refuse_plain_request(&mut self) -> HandshakeError {
        self.respond(
            reject(StatusCode::BAD_REQUEST),
            b"this endpoint speaks WebSocket only\n",
        );
        HandshakeError::NotWebSocket
    }
}

/// The head of a request, without its body.
pub fn clone_head<B>(request: &Request<B>) -> Request<()> {
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    head
}
