//! WebSockets over HTTP/2 (RFC 8441), feature `h2`: a WebSocket is one stream of an HTTP/2
//! connection, opened by an extended CONNECT (`:method CONNECT`, `:protocol websocket`)
//! and answered 200; the stream's DATA frames carry the same WebSocket frames, driven by the
//! same core as over TCP. A browser multiplexes its WebSocket into the HTTP/2 connection that
//! loaded the page: no extra TCP or TLS handshake, header compression, one connection.
//!
//! * Server: [`serve`] serves HTTP/1.1 and HTTP/2 on one listener (ALPN `h2`/`http/1.1`
//!   over TLS, prior knowledge over plain TCP), announces SETTINGS_ENABLE_CONNECT_PROTOCOL,
//!   applies [`ServeConfig`]'s limits and drains with GOAWAY on shutdown. A request handler
//!   opens WebSockets with [`crate::hyper::upgrade`], which takes an HTTP/1.1 upgrade and an
//!   HTTP/2 extended CONNECT alike (routes must accept `CONNECT` as well as `GET`).
//!   It is built on hyper's HTTP/2 server, so axum and hyper services get the same path.
//! * Client: [`H2Client`] opens one HTTP/2 connection and any number of WebSockets on it;
//!   [`connect`] opens one WebSocket over HTTP/2 and falls back to HTTP/1.1 when the server
//!   cannot carry it ([`H2Options::fallback_to_http1`]).
//!
//! Flow control: each WebSocket's stream has its own windows. A WebSocket whose peer does
//! not read stops at the stream's window and then its own output limit; the other streams
//! on the connection keep flowing. What one stream can make the other side hold is bounded
//! by the initial stream window ([`ServeConfig::initial_stream_window_size`],
//! [`H2Options::initial_stream_window_size`]).
//!
//! Ends: a WebSocket closed cleanly ends its stream with END_STREAM (after the close
//! handshake). A client [`H2Stream`] dropped before its end is reset (RST_STREAM CANCEL);
//! a stream reset by the peer mid-message reports an abnormal closure (1006) on that
//! WebSocket only.
//!
//! ```no_run
//! use ropeway_tokio::h2::{H2Client, H2Options, ServeConfig, serve};
//! use ropeway_tokio::{ClientConfig, Message, ServerConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Server: one port, HTTP/1.1 and HTTP/2; `/ws` echoes.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(serve(listener, None, ServeConfig::default(), |mut request| async move {
//!     let ws_config = ServerConfig::default();
//!     match ropeway_tokio::hyper::upgrade::<_, String>(&mut request, &ws_config) {
//!         Ok((response, pending)) => {
//!             tokio::spawn(async move {
//!                 let version = pending.http_version(); // HTTP_2 for an extended CONNECT
//!                 let mut ws = pending.await?;
//!                 while let Some(Ok(message)) = ws.recv().await {
//!                     if message.is_data() { ws.send(message).await?; }
//!                 }
//!                 Ok::<_, ropeway_tokio::Error>(())
//!             });
//!             response
//!         }
//!         Err(e) => ropeway_tokio::hyper::error_response(&e),
//!     }
//! }, std::future::pending()));
//!
//! // Client: one HTTP/2 connection, two WebSockets on it.
//! let client = H2Client::connect(&format!("ws://{addr}"), &ClientConfig::default(),
//!     &H2Options::default()).await?;
//! let (mut a, _) = client.websocket("/ws").await?;
//! let (mut b, _) = client.websocket("/ws").await?;
//! a.send(Message::text("over HTTP/2")).await?;
//! b.send(Message::text("on the same connection")).await?;
//! # Ok(()) }
//! ```

mod client;
mod server;
mod stream;
mod transport;

pub use client::{H2Client, H2Options, connect, connect_with};
pub use server::{ALPN, ServeConfig, serve};
pub use stream::H2Stream;
pub use transport::Transport;
