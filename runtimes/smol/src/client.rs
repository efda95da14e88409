//! The client side: connect to a `ws://` or `wss://` URL, or run the handshake over a
//! transport the application opened itself. The request and its checks are the core's
//! [`ClientHandshake`]; this file connects, writes, reads and times it out.

use async_net::TcpStream;
use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::AsyncWriteExt;
use http::Response;
use ropeway_common::os_seeded_entropy;
use ropeway_core::Error;
use ropeway_core::handshake::{ClientHandshake, ClientRequest};

pub use ropeway_common::ClientConfig;

use crate::tls::MaybeTlsStream;
use crate::websocket::{WebSocket, read_buf, timeout};

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
    let stream = timeout(config.connect_timeout, Box::pin(open))
        .await
        .ok_or(Error::ConnectTimeout)??;
    handshake(stream, &request, config).await
}

/// Runs the client handshake over a transport the application opened itself.
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
/// use ropeway_smol::Message;
///
/// // `ws` came from `handshake` over a Unix socket pair (any AsyncRead + AsyncWrite works:
/// // a socket you opened, a proxy tunnel, a TLS stream).
/// ws.send(Message::text("hi")).await?;
/// assert_eq!(ws.recv().await.expect("echo")?.as_text(), Some("hi"));
/// # Ok(()) }) }
/// # #[cfg(not(unix))]
/// # fn main() {}
/// ```
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
        let extensions = config.extensions.clone();
        let mut handshake =
            ClientHandshake::new(request, extensions, &mut entropy, limits, &mut out);
        io.write_all(&out).await?;
        io.flush().await?;
        let mut buf = BytesMut::with_capacity(1024);
        loop {
            if let Some(accepted) = handshake.recv(&mut buf)? {
                return Ok::<_, Error>((accepted, buf));
            }
            if read_buf(&mut io, &mut buf).await? == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
        }
    };
    let (accepted, buffered) = timeout(config.handshake_timeout, exchange)
        .await
        .ok_or(Error::HandshakeTimeout)??;
    let now = std::time::Instant::now();
    let (conn, response) = accepted.into_connection(&config.core, Box::new(entropy), now);
    let ws = WebSocket::from_parts(io, conn, buffered, config.read_buffer_size);
    Ok((ws, response))
}
