//! The client side: connect to a `ws://` or `wss://` URL, or run the handshake over a
//! transport the application opened itself. The handshake is ropeway-async's, the request
//! and its checks the core's; tokio only opens the transport (`runtime.rs`).

use http::Response;
use ropeway_core::Error;
use ropeway_core::handshake::ClientRequest;
use tokio::io::{AsyncRead, AsyncWrite};

pub use ropeway_common::ClientConfig;

use crate::WebSocket;
use crate::runtime::Tokio;
use crate::tls::MaybeTlsStream;

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
    ropeway_async::client::connect_with::<Tokio>(request, config).await
}

/// Runs the client handshake over a transport the application opened itself.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ropeway_tokio::Error> {
/// # // An echo server and a client over an in-memory duplex pipe: no network.
/// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
/// # let server = tokio::spawn(async move {
/// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
/// #     while let Some(message) = ws.recv().await {
/// #         let message = message?;
/// #         if message.is_data() {
/// #             ws.send(message).await?;
/// #         }
/// #     }
/// #     Ok::<_, ropeway_tokio::Error>(())
/// # });
/// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
/// # let config = ropeway_tokio::ClientConfig::default();
/// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
/// use ropeway_tokio::Message;
///
/// // `ws` came from `handshake` over the in-memory pipe (any AsyncRead + AsyncWrite works:
/// // a socket you opened, a proxy tunnel, a TLS stream).
/// ws.send(Message::text("hi")).await?;
/// assert_eq!(ws.recv().await.expect("echo")?.as_text(), Some("hi"));
/// # Ok(()) }
/// ```
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<S>, Response<()>), Error> {
    ropeway_async::client::handshake::<Tokio, S>(io, request, config).await
}

/// `wss://` over a transport the application opened itself (a tunnel, a Unix socket, an
/// in-memory pipe): TLS for the request's host over `io` with `config.tls` (within
/// `connect_timeout`), then the WebSocket handshake inside it (within `handshake_timeout`),
/// as tokio-tungstenite's `client_async_tls_with_config` does.
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub async fn handshake_tls<S: AsyncRead + AsyncWrite + Unpin + Send>(
    io: S,
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<tokio_rustls::client::TlsStream<S>>, Response<()>), Error> {
    let tls = crate::tls::handshake(io, request.host(), config);
    let tls = ropeway_async::timeout::<Tokio, _>(config.connect_timeout, tls)
        .await
        .ok_or(Error::ConnectTimeout)??;
    handshake(tls, request, config).await
}
