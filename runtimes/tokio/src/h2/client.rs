//! The client: WebSockets over one HTTP/2 connection (h2c with prior knowledge for `ws://`,
//! ALPN `h2` for `wss://`), many at once from one cloneable [`H2Client`], each an extended
//! CONNECT stream; or one WebSocket with [`connect`], which falls back to HTTP/1.1 when the
//! server cannot carry WebSockets over HTTP/2 (if asked to).
//!
//! With a proxy ([`ClientConfig::proxy`]) the HTTP/2 connection runs inside its tunnel, opened
//! by ropeway-async as for every client: h2c with prior knowledge for `ws://` (bytes the
//! server sent with the proxy's answer are kept), TLS with ALPN `h2` to the server for
//! `wss://`.
//!
//! The client uses the `h2` crate directly rather than hyper's client: it must know whether
//! the server announced SETTINGS_ENABLE_CONNECT_PROTOCOL before it decides between HTTP/2
//! and HTTP/1.1, which takes a PING round trip after the preface (the server's SETTINGS come
//! before its PING ACK, RFC 9113 §3.4), and it must reset a stream it abandons.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::Response;
use ropeway_common::{ClientConfig, os_seeded_entropy};
use ropeway_core::Error;
use ropeway_core::handshake::{ClientRequest, ExtendedConnect, HandshakeError, WEBSOCKET_PROTOCOL};
use tokio::io::{AsyncRead, AsyncWrite};

use super::prefixed::Prefixed;
use super::server::{frame_size, window};
use super::stream::H2Stream;
use super::transport::Transport;
use crate::WebSocket;
use crate::runtime::Tokio;
use crate::tls::MaybeTlsStream;

/// How [`H2Client::connect`] and [`connect`] use HTTP/2. Every limit has a safe default.
#[derive(Clone, Debug)]
pub struct H2Options {
    /// When the server cannot carry a WebSocket over HTTP/2 (no `h2` in ALPN, no answer to
    /// the preface, no SETTINGS_ENABLE_CONNECT_PROTOCOL), [`connect`] opens it over HTTP/1.1
    /// instead of failing with [`HandshakeError::Http2Unavailable`]. Default true.
    pub fallback_to_http1: bool,
    /// How much the server may send on one stream before this side reads it: the most
    /// unread data one WebSocket holds. Default 256 KiB.
    pub initial_stream_window_size: u32,
    /// The connection's receive window, shared by all its WebSockets. Default 1 MiB.
    pub initial_connection_window_size: u32,
    /// The most output h2 buffers per stream beyond what the peer's window allows.
    /// Default 256 KiB.
    pub max_send_buffer_size: usize,
    /// SETTINGS_MAX_FRAME_SIZE: the largest DATA frame the server may send. Default 16 KiB,
    /// the protocol's default.
    pub max_frame_size: u32,
    /// The largest response head accepted (SETTINGS_MAX_HEADER_LIST_SIZE). Default 16 KiB.
    pub max_header_list_size: u32,
    /// How long to wait for the server's SETTINGS after the preface. Default 10 s.
    pub settings_timeout: Duration,
}

impl Default for H2Options {
    fn default() -> Self {
        H2Options {
            fallback_to_http1: true,
            initial_stream_window_size: 256 * 1024,
            initial_connection_window_size: 1024 * 1024,
            max_send_buffer_size: 256 * 1024,
            max_frame_size: 16 * 1024,
            max_header_list_size: 16 * 1024,
            settings_timeout: Duration::from_secs(10),
        }
    }
}

/// One HTTP/2 connection to a server that carries WebSockets (it announced
/// SETTINGS_ENABLE_CONNECT_PROTOCOL). Cloning is cheap; every clone opens WebSockets on the
/// same connection, each on its own stream. The connection ends once every clone and every
/// WebSocket opened on it are gone (or the server ends it).
#[derive(Clone)]
pub struct H2Client {
    send: h2::client::SendRequest<Bytes>,
    config: Arc<ClientConfig>,
    authority: Arc<ClientRequest>,
}

impl std::fmt::Debug for H2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Client")
            .field("host", &self.authority.host())
            .field("port", &self.authority.port())
            .finish_non_exhaustive()
    }
}

/// What opening an HTTP/2 connection gave.
enum Opened {
    /// HTTP/2 with extended CONNECT.
    H2(H2Client),
    /// The server cannot carry WebSockets over HTTP/2: why, and the connection if it can
    /// still be used for HTTP/1.1 (TLS without `h2` chosen).
    No(&'static str, Option<MaybeTlsStream>),
}

impl H2Client {
    /// Opens an HTTP/2 connection to `url`'s server (`ws://`: h2c, `wss://`: TLS with ALPN
    /// `h2`) and checks that it announced SETTINGS_ENABLE_CONNECT_PROTOCOL. Fails with
    /// [`HandshakeError::Http2Unavailable`] when it cannot carry WebSockets over HTTP/2.
    pub async fn connect(
        url: &str,
        config: &ClientConfig,
        options: &H2Options,
    ) -> Result<H2Client, Error> {
        let request = ClientRequest::from_url(url)?;
        match open(&request, config, options).await? {
            Opened::H2(client) => Ok(client),
            Opened::No(why, _) => Err(HandshakeError::Http2Unavailable(why).into()),
        }
    }

    /// Opens a WebSocket at `path` (path and query) on this connection.
    pub async fn websocket(
        &self,
        path: &str,
    ) -> Result<(WebSocket<H2Stream>, Response<()>), Error> {
        let mut request = (*self.authority).clone();
        request.set_resource(path);
        self.websocket_with(&request).await
    }

    /// Opens a WebSocket as `request` describes (its path, subprotocols and headers; its
    /// host and port are this connection's) on this connection: an extended CONNECT on a new
    /// stream. Waits while the server's SETTINGS_MAX_CONCURRENT_STREAMS are all in use.
    pub async fn websocket_with(
        &self,
        request: &ClientRequest,
    ) -> Result<(WebSocket<H2Stream>, Response<()>), Error> {
        let (stream, conn, response, size) = self.open_stream(request, |s| s).await?;
        Ok((
            WebSocket::from_parts(stream, conn, BytesMut::new(), size),
            response,
        ))
    }

    /// The extended CONNECT exchange: the stream (wrapped by `wrap`), its connection core,
    /// the answer and the read buffer size.
    async fn open_stream<T>(
        &self,
        request: &ClientRequest,
        wrap: impl FnOnce(H2Stream) -> T,
    ) -> Result<(T, ropeway_core::Connection, Response<()>, usize), Error> {
        let config = &self.config;
        let (connect, mut head) = ExtendedConnect::new(request, config.extensions.clone())?;
        head.extensions_mut()
            .insert(h2::ext::Protocol::from_static(WEBSOCKET_PROTOCOL));
        let exchange = async {
            let mut send = self.send.clone().ready().await.map_err(h2_error)?;
            let (response, send_stream) = send.send_request(head, false).map_err(h2_error)?;
            let response = response.await.map_err(h2_error)?;
            Ok::<_, Error>((response, send_stream))
        };
        let (response, send_stream) = tokio::time::timeout(config.handshake_timeout, exchange)
            .await
            .map_err(|_| Error::HandshakeTimeout)??;
        let (parts, recv_stream) = response.into_parts();
        // From here the stream is ours: dropping it on a refusal resets it.
        let stream = H2Stream::new(send_stream, recv_stream);
        let accepted = connect.recv_response(Response::from_parts(parts, ()))?;
        let now = tokio::time::Instant::now().into_std();
        let entropy = os_seeded_entropy()?;
        let (conn, response) = accepted.into_connection(&config.core, Box::new(entropy), now);
        let size = config.read_buffer_size;
        Ok((wrap(stream), conn, response, size))
    }

    /// Whether the server announced SETTINGS_ENABLE_CONNECT_PROTOCOL (checked on connect;
    /// a server could withdraw it later only by breaking RFC 8441 §3).
    pub fn extended_connect_enabled(&self) -> bool {
        self.send.is_extended_connect_protocol_enabled()
    }
}

/// Opens one WebSocket to `url`: over HTTP/2 when the server can carry it, else (with
/// [`H2Options::fallback_to_http1`]) over HTTP/1.1. [`Transport::http_version`] on
/// `WebSocket::get_ref` tells which.
pub async fn connect(
    url: &str,
    config: &ClientConfig,
    options: &H2Options,
) -> Result<(WebSocket<Transport>, Response<()>), Error> {
    connect_with(ClientRequest::from_url(url)?, config, options).await
}

/// [`connect`] as `request` describes (URL, subprotocols, headers).
pub async fn connect_with(
    request: ClientRequest,
    config: &ClientConfig,
    options: &H2Options,
) -> Result<(WebSocket<Transport>, Response<()>), Error> {
    let (why, io) = match open(&request, config, options).await {
        Ok(Opened::H2(client)) => {
            let (stream, conn, response, size) =
                client.open_stream(&request, Transport::H2).await?;
            let ws = WebSocket::from_parts(stream, conn, BytesMut::new(), size);
            return Ok((ws, response));
        }
        Ok(Opened::No(why, io)) => (why, io),
        Err(e) => return Err(e),
    };
    if !options.fallback_to_http1 {
        return Err(HandshakeError::Http2Unavailable(why).into());
    }
    tracing::debug!("falling back to HTTP/1.1: {why}");
    let (io, buffered) = match io {
        Some(io) => (io, BytesMut::new()),
        None => open_http1(&request, config).await?,
    };
    let io = Transport::Http1(io);
    ropeway_async::client::handshake_buffered::<Tokio, _>(io, &request, config, buffered).await
}

/// A new connection for HTTP/1.1 (TLS without ALPN: the server's default, HTTP/1.1), and
/// what a proxy passed on after its answer.
async fn open_http1(
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<(MaybeTlsStream, BytesMut), Error> {
    ropeway_async::client::open_transport::<Tokio>(request, config).await
}

/// TCP or a proxy's tunnel (over TLS to an `https://` proxy), TLS with ALPN for `wss://`,
/// then the HTTP/2 preface and SETTINGS.
async fn open(
    request: &ClientRequest,
    config: &ClientConfig,
    options: &H2Options,
) -> Result<Opened, Error> {
    let (tunnel, leftover) = ropeway_async::client::open_tunnel::<Tokio>(request, config).await?;
    if !request.is_secure() {
        return handshake(Prefixed::new(leftover, tunnel), request, config, options).await;
    }
    let limit = config.connect_timeout;
    let (io, alpn_h2) = match tunnel {
        MaybeTlsStream::Plain(tcp) => {
            let tls = tokio::time::timeout(limit, tls_connect(tcp, request, config))
                .await
                .map_err(|_| Error::ConnectTimeout)??;
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            (MaybeTlsStream::Tls(Box::new(tls)), h2)
        }
        // TLS to the server inside TLS to an https:// proxy.
        tunnel => {
            let tls = tokio::time::timeout(limit, tls_connect(tunnel, request, config))
                .await
                .map_err(|_| Error::ConnectTimeout)??;
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            (MaybeTlsStream::TlsInTls(Box::new(tls)), h2)
        }
    };
    if !alpn_h2 {
        return Ok(Opened::No("the server did not choose h2 in ALPN", Some(io)));
    }
    handshake(io, request, config, options).await
}

/// TLS over `io` offering ALPN `h2` and `http/1.1`, so a server without HTTP/2 can still
/// answer.
async fn tls_connect<I>(
    io: I,
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<tokio_rustls::client::TlsStream<I>, Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let base = config
        .tls
        .clone()
        .unwrap_or_else(ropeway_common::tls::default_client_config);
    let mut tls = (*base).clone();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = ropeway_common::tls::server_name(request.host())?;
    tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, io)
        .await
        .map_err(ropeway_common::tls::handshake_error)
}

/// The HTTP/2 preface and SETTINGS exchange, then the check of
/// SETTINGS_ENABLE_CONNECT_PROTOCOL.
async fn handshake<I>(
    io: I,
    request: &ClientRequest,
    config: &ClientConfig,
    options: &H2Options,
) -> Result<Opened, Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let settle = async {
        let (send, mut connection) = h2::client::Builder::new()
            .enable_push(false)
            .initial_window_size(window(options.initial_stream_window_size))
            .initial_connection_window_size(window(options.initial_connection_window_size))
            .max_send_buffer_size(options.max_send_buffer_size.min(u32::MAX as usize))
            .max_header_list_size(options.max_header_list_size)
            .max_frame_size(frame_size(options.max_frame_size))
            .handshake::<_, Bytes>(io)
            .await
            .map_err(h2_error)?;
        let mut ping = connection.ping_pong();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("HTTP/2 connection ended: {e}");
            }
        });
        // The server's SETTINGS precede its answer to our PING: after the PONG, its
        // SETTINGS_ENABLE_CONNECT_PROTOCOL is known.
        if let Some(ping) = ping.as_mut() {
            ping.ping(h2::Ping::opaque()).await.map_err(h2_error)?;
        }
        Ok::<_, Error>(send)
    };
    let send = match tokio::time::timeout(options.settings_timeout, settle).await {
        Ok(Ok(send)) => send,
        // A server that does not speak HTTP/2 at all ends an h2c preface abruptly (an
        // HTTP/1.1 server answers 400 and closes: a reset or a broken pipe). Over TLS, ALPN
        // said h2, so an I/O error there is one.
        Ok(Err(Error::Io(_))) if !request.is_secure() => {
            return Ok(Opened::No("no answer to the HTTP/2 preface", None));
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(Error::HandshakeTimeout),
    };
    if !send.is_extended_connect_protocol_enabled() {
        return Ok(Opened::No(
            "the server did not announce SETTINGS_ENABLE_CONNECT_PROTOCOL",
            None,
        ));
    }
    let mut authority = request.clone();
    authority.set_resource("/");
    Ok(Opened::H2(H2Client {
        send,
        config: Arc::new(config.clone()),
        authority: Arc::new(authority),
    }))
}

fn h2_error(e: h2::Error) -> Error {
    if e.is_io() {
        if let Some(io) = e.into_io() {
            return Error::Io(io);
        }
        return Error::Io(std::io::Error::other("HTTP/2 I/O error"));
    }
    Error::Io(std::io::Error::other(e))
}
