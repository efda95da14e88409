//! The server side: read a request, let the application route it, then accept it as a
//! WebSocket or answer it as plain HTTP. The sequence and every answer are the core's
//! [`ServerHandshake`]; this file reads, writes and times it out.

use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::AsyncWriteExt;
use http::{Request, Response, StatusCode};
use ropeway_core::Error;
pub use ropeway_core::ServerConfig;
use ropeway_core::handshake::{
    Accept, HandshakeError, ServerHandshake, UpgradeRequest, is_websocket_request, reject,
};

use crate::websocket::{WebSocket, read_buf, timeout};

/// A request read from a new connection, before the application decides what to do with it.
///
/// ```
/// # #[cfg(unix)]
/// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
/// # let (mut client_io, server_io) = smol::net::unix::UnixStream::pair()?;
/// # use futures_lite::AsyncWriteExt;
/// # client_io.write_all(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
/// #     Sec-WebSocket-Protocol: chat.v1\r\n\r\n").await?;
/// use ropeway_smol::server::{Incoming, ServerConfig, plain};
/// use ropeway_smol::{Accept, http::StatusCode};
///
/// // Route on the request before deciding: a WebSocket on /chat, 404 elsewhere.
/// let incoming = Incoming::read(server_io, &ServerConfig::default()).await?;
/// if incoming.path() != "/chat" || !incoming.is_websocket() {
///     return incoming.respond(plain(StatusCode::NOT_FOUND), b"not here").await;
/// }
/// let protocol = incoming.upgrade()?.select_protocol(&["chat.v1"]).map(str::to_owned);
/// let ws = incoming.accept(Accept { protocol, ..Accept::default() }).await?;
/// assert_eq!(ws.protocol(), Some("chat.v1"));
/// # Ok(()) }) }
/// # #[cfg(not(unix))]
/// # fn main() {}
/// ```
pub struct Incoming<S> {
    io: S,
    handshake: ServerHandshake,
    buffered: BytesMut,
    request: Request<()>,
    config: ServerConfig,
}

impl<S> std::fmt::Debug for Incoming<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Incoming<S> {
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
                if read_buf(&mut io, &mut buffered).await? == 0 {
                    return Err(Error::Handshake(handshake.handle_eof()));
                }
            }
        };
        match timeout(config.handshake_timeout, read).await {
            Some(Ok(request)) => Ok(Incoming {
                io,
                handshake,
                buffered,
                request,
                config: config.clone(),
            }),
            Some(Err(e)) => {
                let _ = answer(&mut io, &handshake).await;
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
    pub async fn accept(self, accept: Accept) -> Result<WebSocket<S>, Error> {
        // Boxed for the same reason as `read`.
        Box::pin(self.accept_unboxed(accept)).await
    }

    async fn accept_unboxed(mut self, accept: Accept) -> Result<WebSocket<S>, Error> {
        let accepted = match self.handshake.accept(&self.request, accept, &self.config) {
            Ok(accepted) => accepted,
            Err(e) => {
                let _ = answer(&mut self.io, &self.handshake).await;
                return Err(e.into());
            }
        };
        self.io.write_all(self.handshake.output()).await?;
        self.io.flush().await?;
        let now = std::time::Instant::now();
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
        Ok(answer(&mut self.io, &self.handshake).await?)
    }
}

/// Accepts a WebSocket on `io` with the default settings. A plain HTTP request is answered
/// with 400.
///
/// ```
/// # #[cfg(unix)]
/// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
/// # // An echo server and a client over a Unix socket pair: no network.
/// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
/// # let server = smol::spawn(async move {
/// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
/// #     while let Some(message) = ws.recv().await {
/// #         let message = message?;
/// #         if message.is_data() {
/// #             ws.send(message).await?;
/// #         }
/// #     }
/// #     Ok::<_, ropeway_smol::Error>(())
/// # });
/// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
/// # let config = ropeway_smol::ClientConfig::default();
/// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
/// // The server side of this example is `server::accept(server_io)` (hidden above).
/// ws.close(None).await?;
/// server.await?;
/// # Ok(()) }) }
/// # #[cfg(not(unix))]
/// # fn main() {}
/// ```
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(io: S) -> Result<WebSocket<S>, Error> {
    accept_with_config(io, &ServerConfig::default()).await
}

/// Accepts a WebSocket on `io`, whatever its path, choosing no subprotocol. A plain HTTP
/// request is answered with 400.
pub async fn accept_with_config<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: &ServerConfig,
) -> Result<WebSocket<S>, Error> {
    // Boxed: see `Incoming::read`.
    Box::pin(accept_unboxed(io, config)).await
}

async fn accept_unboxed<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: &ServerConfig,
) -> Result<WebSocket<S>, Error> {
    let mut incoming = Incoming::read_unboxed(io, config).await?;
    if !incoming.is_websocket() {
        let error = incoming.handshake.refuse_plain_request();
        answer(&mut incoming.io, &incoming.handshake).await?;
        return Err(error.into());
    }
    incoming.accept_unboxed(Accept::default()).await
}

/// A response with a plain-text content type.
///
/// ```
/// use ropeway_smol::{http::StatusCode, server::plain};
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
async fn answer<S: AsyncWrite + Unpin>(
    io: &mut S,
    handshake: &ServerHandshake,
) -> std::io::Result<()> {
    io.write_all(handshake.output()).await?;
    io.close().await
}
