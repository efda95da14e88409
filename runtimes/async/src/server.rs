//! The server side: read a request, let the application route it, then accept it as a
//! WebSocket or answer it as plain HTTP. The sequence and every answer are the core's
//! [`ServerHandshake`]; this file reads, writes and times it out on the runtime.

use bytes::BytesMut;
use http::{Request, Response, StatusCode};
use ropeway_core::Error;
pub use ropeway_core::ServerConfig;
use ropeway_core::handshake::{
    Accept, HandshakeError, ServerHandshake, UpgradeRequest, is_websocket_request, reject,
};
use std::marker::PhantomData;

use crate::io_util::{flush, read_buf, shutdown, timeout, write_all};
use crate::runtime::Io;
use crate::websocket::WebSocket;

/// A request read from a new connection, before the application decides what to do with it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ropeway_tokio::Error> {
/// # let (mut client_io, server_io) = tokio::io::duplex(1 << 16);
/// # use tokio::io::AsyncWriteExt;
/// # client_io.write_all(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
/// #     Sec-WebSocket-Protocol: chat.v1\r\n\r\n").await?;
/// use ropeway_tokio::server::{Incoming, ServerConfig, plain};
/// use ropeway_tokio::{Accept, http::StatusCode};
///
/// // Route on the request before deciding: a WebSocket on /chat, 404 elsewhere.
/// let incoming = Incoming::read(server_io, &ServerConfig::default()).await?;
/// if incoming.path() != "/chat" || !incoming.is_websocket() {
///     return incoming.respond(plain(StatusCode::NOT_FOUND), b"not here").await;
/// }
/// let protocol = incoming.upgrade()?.select_protocol(&["chat.v1"]).map(str::to_owned);
/// let ws = incoming.accept(Accept { protocol, ..Accept::default() }).await?;
/// assert_eq!(ws.protocol(), Some("chat.v1"));
/// # Ok(()) }
/// ```
pub struct Incoming<S, R> {
    io: S,
    handshake: ServerHandshake,
    buffered: BytesMut,
    request: Request<()>,
    config: ServerConfig,
    _runtime: PhantomData<fn() -> R>,
}

impl<S, R> std::fmt::Debug for Incoming<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl<S: Unpin, R: Io<S>> Incoming<S, R> {
    /// Reads the request head, within the handshake timeout (a client that never finishes
    /// is dropped). A head over the size limit is answered with 431; a WebSocket request from
    /// an origin not on the allow-list with 403. Both end with an error and never reach the
    /// application.
    pub async fn read(io: S, config: &ServerConfig) -> Result<Self, Error> {
        // The handshake's state is large (buffers, timer, response) and short-lived; boxed,
        // it stays out of the caller's future, which lives as long as the connection.
        Box::pin(Self::read_unboxed(io, config)).await
    }

    async fn read_unboxed(mut io: S, config: &ServerConfig) -> Result<Self, Error> {
        let mut handshake = ServerHandshake::new(config);
        let mut buffered = BytesMut::with_capacity(1024);
        let read = async {
            loop {
                if let Some(request) = handshake.recv(&mut buffered, config)? {
                    return Ok(request);
                }
                if read_buf::<R, S>(&mut io, &mut buffered).await? == 0 {
                    return Err(Error::Handshake(handshake.handle_eof()));
                }
            }
        };
        match timeout::<R, _>(config.handshake_timeout, read).await {
            Some(Ok(request)) => Ok(Incoming {
                io,
                handshake,
                buffered,
                request,
                config: config.clone(),
                _runtime: PhantomData,
            }),
            Some(Err(e)) => {
                let _ = answer::<R, S>(&mut io, &handshake).await;
                Err(e)
            }
            None => Err(Error::HandshakeTimeout),
        }
    }

    /// The request: method, path, query, headers.
    pub fn request(&self) -> &Request<()> {
        &self.request
    }

    /// The request's path.
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// Whether the request asks for a WebSocket.
    pub fn is_websocket(&self) -> bool {
        is_websocket_request(&self.request)
    }

    /// Validates the request as a WebSocket upgrade, to look at offered subprotocols and
    /// extensions before accepting.
    pub fn upgrade(&self) -> Result<UpgradeRequest, HandshakeError> {
        UpgradeRequest::from_request(self.request.clone())
    }

    /// Accepts the request as a WebSocket with the given answer (a subprotocol the client
    /// offered, headers); negotiates the configured extensions. An invalid upgrade request is
    /// answered with 400 (or 426 for a wrong version) and returned as an error.
    pub async fn accept(self, accept: Accept) -> Result<WebSocket<S, R>, Error> {
        // Boxed for the same reason as `read`.
        Box::pin(self.accept_unboxed(accept)).await
    }

    async fn accept_unboxed(mut self, accept: Accept) -> Result<WebSocket<S, R>, Error> {
        let accepted = match self.handshake.accept(&self.request, accept, &self.config) {
            Ok(accepted) => accepted,
            Err(e) => {
                let _ = answer::<R, S>(&mut self.io, &self.handshake).await;
                return Err(e.into());
            }
        };
        write_all::<R, S>(&mut self.io, self.handshake.output()).await?;
        flush::<R, S>(&mut self.io).await?;
        let now = R::now();
        let conn = accepted.into_connection(&self.config, now);
        let read_buffer_size = self.config.read_buffer_size;
        Ok(WebSocket::from_parts(
            self.io,
            conn,
            self.buffered,
            read_buffer_size,
        ))
    }

    /// Answers the request as plain HTTP and closes the connection (a page, a 404, a 400 for a
    /// plain request on a WebSocket route).
    pub async fn respond(mut self, response: Response<()>, body: &[u8]) -> Result<(), Error> {
        self.handshake.respond(response, body);
        Ok(answer::<R, S>(&mut self.io, &self.handshake).await?)
    }
}

/// Accepts a WebSocket on `io` with the default settings. A plain HTTP request is answered
/// with 400. (Bindings offer it without the runtime parameter: `ropeway_tokio::accept`.)
pub async fn accept<R: Io<S>, S: Unpin>(io: S) -> Result<WebSocket<S, R>, Error> {
    accept_with_config(io, &ServerConfig::default()).await
}

/// Accepts a WebSocket on `io`, whatever its path, choosing no subprotocol. A plain HTTP
/// request is answered with 400.
pub async fn accept_with_config<R: Io<S>, S: Unpin>(
    io: S,
    config: &ServerConfig,
) -> Result<WebSocket<S, R>, Error> {
    // Boxed: see `Incoming::read`.
    Box::pin(accept_unboxed(io, config)).await
}

async fn accept_unboxed<R: Io<S>, S: Unpin>(
    io: S,
    config: &ServerConfig,
) -> Result<WebSocket<S, R>, Error> {
    let mut incoming = Incoming::<S, R>::read_unboxed(io, config).await?;
    if !incoming.is_websocket() {
        let error = incoming.handshake.refuse_plain_request();
        answer::<R, S>(&mut incoming.io, &incoming.handshake).await?;
        return Err(error.into());
    }
    incoming.accept_unboxed(Accept::default()).await
}

/// A response with a plain-text content type.
///
/// ```
/// use ropeway_async::server::plain;
/// use http::StatusCode;
///
/// let response = plain(StatusCode::NOT_FOUND);
/// assert_eq!(response.status(), 404);
/// assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
/// ```
pub fn plain(status: StatusCode) -> Response<()> {
    reject(status)
}

/// Writes the queued answer (a refusal, an error answer or a plain response) and shuts the
/// connection down.
async fn answer<R: Io<S>, S: Unpin>(
    io: &mut S,
    handshake: &ServerHandshake,
) -> std::io::Result<()> {
    write_all::<R, S>(io, handshake.output()).await?;
    shutdown::<R, S>(io).await
}
