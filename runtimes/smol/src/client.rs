//! The client side: connect to a `ws://` or `wss://` URL, or run the handshake over a
//! transport the application opened itself.
//! The handshake is ropeway-async's, the request and its checks the core's; smol only
//! opens the transport (`runtime.rs`).

use futures_io::{AsyncRead, AsyncWrite};
use http::Response;
use ropeway_core::Error;
use ropeway_core::handshake::ClientRequest;

pub use ropeway_common::ClientConfig;

use crate::WebSocket;
use crate::runtime::Smol;
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
    ropeway_async::client::connect_with::<Smol>(request, config).await
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
    ropeway_async::client::handshake::<Smol, S>(io, request, config).await
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
) -> Result<
    (
        WebSocket<futures_rustls::client::TlsStream<S>>,
        Response<()>,
    ),
    Error,
> {
    let tls = crate::tls::handshake(io, request.host(), config);
    let tls = ropeway_async::timeout::<Smol, _>(config.connect_timeout, tls)
        .await
        .ok_or(Error::ConnectTimeout)??;
    handshake(tls, request, config).await
}
