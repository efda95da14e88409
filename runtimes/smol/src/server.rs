//! The server side: read a request, let the application route it, then accept it as a
//! WebSocket or answer it as plain HTTP. The sequence is ropeway-async's, every answer the
//! core's; this binding only names the types for smol.

use futures_io::{AsyncRead, AsyncWrite};
use ropeway_core::Error;
pub use ropeway_core::ServerConfig;

pub use ropeway_async::server::plain;

use crate::WebSocket;
use crate::runtime::Smol;

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
pub type Incoming<S> = ropeway_async::server::Incoming<S, Smol>;

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
    ropeway_async::server::accept::<Smol, S>(io).await
}

/// Accepts a WebSocket on `io`, whatever its path, choosing no subprotocol. A plain HTTP
/// request is answered with 400.
pub async fn accept_with_config<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: &ServerConfig,
) -> Result<WebSocket<S>, Error> {
    ropeway_async::server::accept_with_config::<Smol, S>(io, config).await
}
