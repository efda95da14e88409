//! The client side: connect to a `ws://` or `wss://` URL, or run the handshake over a
//! transport the application opened itself.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use http::Response;
use ropeway_core::extension::ClientExtension;
use ropeway_core::handshake::{ClientHandshake, ClientRequest};
use ropeway_core::{Config, Connection, SeededEntropy};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::Error;
use crate::tls::MaybeTlsStream;
use crate::websocket::WebSocket;

/// Client settings.
#[derive(Clone)]
pub struct ClientConfig {
    /// The protocol core's settings (keep-alive, close timeout, limits).
    pub core: Config,
    /// How long connecting (TCP and TLS) may take. Default 10 s.
    pub connect_timeout: Duration,
    /// How long the server may take to answer the upgrade request. Default 10 s.
    pub handshake_timeout: Duration,
    /// The TLS settings for `wss://`; `None` uses the webpki roots.
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Extensions to offer (permessage-deflate).
    pub extensions: Vec<Arc<dyn ClientExtension>>,
    /// The read buffer size. Default 4 KiB.
    pub read_buffer_size: usize,
    /// Disable Nagle's algorithm on the TCP connection (default on: WebSocket messages are
    /// latency-sensitive and the core already coalesces writes).
    pub nodelay: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            core: Config::default(),
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            #[cfg(feature = "tls")]
            tls: None,
            extensions: Vec::new(),
            read_buffer_size: 4096,
            nodelay: true,
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("core", &self.core)
            .field("connect_timeout", &self.connect_timeout)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("read_buffer_size", &self.read_buffer_size)
            .field("nodelay", &self.nodelay)
            .finish_non_exhaustive()
    }
}

/// Connects to `url` (`ws://…` or `wss://…`) with the default settings. Returns the
/// connection and the server's 101 response.
pub async fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response<()>), Error> {
    connect_with(ClientRequest::from_url(url)?, &ClientConfig::default()).await
}

/// Connects as `request` describes (URL, subprotocols, headers such as an auth token).
pub async fn connect_with(
    request: ClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<MaybeTlsStream>, Response<()>), Error> {
    let open = async {
        let tcp = TcpStream::connect((request.host(), request.port())).await?;
        tcp.set_nodelay(config.nodelay)?;
        if request.is_secure() {
            crate::tls::connect(tcp, request.host(), config).await
        } else {
            Ok(MaybeTlsStream::Plain(tcp))
        }
    };
    let stream = Box::pin(tokio::time::timeout(config.connect_timeout, open))
        .await
        .map_err(|_| Error::ConnectTimeout)??;
    handshake(stream, &request, config).await
}

/// Runs the client handshake over a transport the application opened itself.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<S>, Response<()>), Error> {
    // The handshake's state is large and short-lived; boxed, it stays out of the caller's
    // future, which lives as long as the connection.
    Box::pin(handshake_unboxed(io, request, config)).await
}

async fn handshake_unboxed<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: S,
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<S>, Response<()>), Error> {
    let mut entropy = os_seeded_entropy()?;
    let exchange = async {
        let mut out = BytesMut::new();
        let limits = &config.core.limits;
        let mut handshake = ClientHandshake::new(
            request,
            config.extensions.clone(),
            &mut entropy,
            limits,
            &mut out,
        );
        io.write_all(&out).await?;
        io.flush().await?;
        let mut buf = BytesMut::with_capacity(1024);
        loop {
            if let Some(accepted) = handshake.recv(&mut buf)? {
                return Ok::<_, Error>((accepted, buf));
            }
            if io.read_buf(&mut buf).await? == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
        }
    };
    let (accepted, buffered) = tokio::time::timeout(config.handshake_timeout, exchange)
        .await
        .map_err(|_| Error::HandshakeTimeout)??;
    let now = tokio::time::Instant::now().into_std();
    let mut conn = Connection::client(
        crate::shared_config::shared(&config.core),
        Box::new(entropy),
        now,
    );
    if let Some(ext) = accepted.extension {
        conn = conn.with_extension(ext);
    }
    let ws = WebSocket::from_parts(io, conn, buffered, config.read_buffer_size);
    Ok((ws, accepted.response))
}

/// Mask keys and handshake nonces come from a stream seeded by the operating system.
pub(crate) fn os_seeded_entropy() -> Result<SeededEntropy, Error> {
    let mut seed = [0; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    Ok(SeededEntropy::from_seed(seed))
}
