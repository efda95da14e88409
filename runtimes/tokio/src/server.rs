//! The server side: read a request, let the application route it, then accept it as a
//! WebSocket or answer it as plain HTTP.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use http::{Request, Response, StatusCode};
use ropeway_core::extension::ServerExtension;
use ropeway_core::handshake::{
    Accept, HandshakeError, RequestReader, UpgradeRequest, is_websocket_request, reject,
    write_response,
};
use ropeway_core::{Config, Connection};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::Error;
use crate::websocket::WebSocket;

/// Server settings. The defaults follow the reference stack where it has one.
#[derive(Clone)]
pub struct ServerConfig {
    /// The protocol core's settings: keep-alive interval (default 2 minutes) and timeout,
    /// close timeout, and limits (frame, message, handshake, queued output).
    pub core: Config,
    /// Origins allowed to open a WebSocket, compared case-insensitively with the `Origin`
    /// header (e.g. `https://example.com`). Empty allows all. Otherwise a request with a
    /// missing or unlisted `Origin` gets 403 and never reaches the application: CORS does not
    /// protect WebSockets.
    pub allowed_origins: Vec<String>,
    /// The read buffer size (default 4 KiB): how much is read at once.
    pub read_buffer_size: usize,
    /// How long a client may take to send its request head (default 10 s).
    pub handshake_timeout: Duration,
    /// Extensions offered to clients, in order of preference (permessage-deflate).
    pub extensions: Vec<Arc<dyn ServerExtension>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            core: Config::default(),
            allowed_origins: Vec::new(),
            read_buffer_size: 4096,
            handshake_timeout: Duration::from_secs(10),
            extensions: Vec::new(),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("core", &self.core)
            .field("allowed_origins", &self.allowed_origins)
            .field("read_buffer_size", &self.read_buffer_size)
            .field("handshake_timeout", &self.handshake_timeout)
            .field(
                "extensions",
                &self.extensions.iter().map(|e| e.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ServerConfig {
    /// Whether `origin` may open a WebSocket.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        origin.is_some_and(|o| {
            self.allowed_origins
                .iter()
                .any(|a| a.eq_ignore_ascii_case(o))
        })
    }
}

/// A request read from a new connection, before the application decides what to do with it.
pub struct Incoming<S> {
    io: S,
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
        let read = read_head(&mut io, config);
        let (request, buffered) = match tokio::time::timeout(config.handshake_timeout, read).await {
            Ok(Ok(read)) => read,
            Ok(Err(Error::Handshake(e))) => {
                respond_error(&mut io, &e).await;
                return Err(Error::Handshake(e));
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Error::HandshakeTimeout),
        };
        let origin = request
            .headers()
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        if is_websocket_request(&request) && !config.origin_allowed(origin) {
            let origin = origin.map(str::to_owned);
            let _ = write_plain(&mut io, StatusCode::FORBIDDEN, "origin not allowed").await;
            return Err(Error::OriginRejected(origin));
        }
        Ok(Incoming {
            io,
            buffered,
            request,
            config: config.clone(),
        })
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

    /// Accepts the request as a WebSocket with the given answer (subprotocol, headers);
    /// negotiates the configured extensions. An invalid upgrade request is answered with 400
    /// (or 426 for a wrong version) and returned as an error.
    pub async fn accept(self, accept: Accept) -> Result<WebSocket<S>, Error> {
        // Boxed for the same reason as `read`.
        Box::pin(self.accept_unboxed(accept)).await
    }

    async fn accept_unboxed(mut self, mut accept: Accept) -> Result<WebSocket<S>, Error> {
        let upgrade = match self.upgrade() {
            Ok(upgrade) => upgrade,
            Err(e) => {
                respond_error(&mut self.io, &e).await;
                return Err(Error::Handshake(e));
            }
        };
        let negotiated = upgrade.negotiate(&self.config.extensions);
        let mut extension = None;
        if let Some((answer, ext)) = negotiated {
            accept.extensions.push(answer);
            extension = Some(ext);
        }
        let response = upgrade.accept(&accept);
        let mut out = BytesMut::new();
        write_response(&response, &[], &mut out);
        self.io.write_all(&out).await?;
        self.io.flush().await?;
        let now = tokio::time::Instant::now().into_std();
        let mut conn = Connection::server(crate::shared_config::shared(&self.config.core), now);
        if let Some(ext) = extension {
            conn = conn.with_extension(ext);
        }
        Ok(WebSocket::from_parts(
            self.io,
            conn,
            self.buffered,
            self.config.read_buffer_size,
        ))
    }

    /// Answers the request as plain HTTP and closes the connection (a page, a 404, a 400 for a
    /// plain request on a WebSocket route).
    pub async fn respond(mut self, response: Response<()>, body: &[u8]) -> Result<(), Error> {
        let mut response = response;
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        let mut out = BytesMut::new();
        write_response(&response, body, &mut out);
        self.io.write_all(&out).await?;
        self.io.shutdown().await?;
        Ok(())
    }
}

/// Accepts a WebSocket on `io` with the default settings. A plain HTTP request is answered
/// with 400.
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
    let incoming = Incoming::read_unboxed(io, config).await?;
    if !incoming.is_websocket() {
        incoming
            .respond(
                plain(StatusCode::BAD_REQUEST),
                b"this endpoint speaks WebSocket only\n",
            )
            .await?;
        return Err(Error::Handshake(HandshakeError::NotWebSocket));
    }
    incoming.accept_unboxed(Accept::default()).await
}

/// Reads until the request head is complete; returns it and the bytes after it.
async fn read_head<S: AsyncRead + Unpin>(
    io: &mut S,
    config: &ServerConfig,
) -> Result<(Request<()>, BytesMut), Error> {
    let mut reader = RequestReader::new(&config.core.limits);
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        if let Some(request) = reader.recv(&mut buf)? {
            return Ok((request, buf));
        }
        if io.read_buf(&mut buf).await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
    }
}

/// A response with a plain-text content type.
pub fn plain(status: StatusCode) -> Response<()> {
    reject(status)
}

async fn respond_error<S: AsyncWrite + Unpin>(io: &mut S, error: &HandshakeError) {
    let _ = write_plain(io, error.status(), &format!("{error}\n")).await;
}

async fn write_plain<S: AsyncWrite + Unpin>(
    io: &mut S,
    status: StatusCode,
    body: &str,
) -> std::io::Result<()> {
    let mut response = reject(status);
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    let mut out = BytesMut::new();
    write_response(&response, body.as_bytes(), &mut out);
    io.write_all(&out).await?;
    io.shutdown().await
}
