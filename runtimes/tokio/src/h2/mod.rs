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
//! Ends (RFC 8441 §5 maps TCP FIN to END_STREAM and TCP RST to RST_STREAM):
//! * A WebSocket closed cleanly ends its stream with END_STREAM after the close handshake, in
//!   both roles. When the peer has not ended its side yet, hyper's server may follow with
//!   RST_STREAM(NO_ERROR), which RFC 9113 §8.1 allows after a complete response.
//! * A client [`H2Stream`] dropped before both halves have ended (a cancelled task, a
//!   WebSocket given up, or ended by an abort such as a write stall, whose END_STREAM is
//!   still queued behind data the peer never took) is reset with RST_STREAM(CANCEL), which
//!   also frees its buffered output and its place under the server's stream limit.
//! * Known gap, server side: the runtime adapter shuts a transport down the same way for a
//!   clean end and an abort, and hyper's upgraded server stream has no reset (dropping it
//!   sends END_STREAM), so an aborted server WebSocket's stream ends with END_STREAM, not
//!   RST_STREAM. The peer still sees the end without a close frame, an abnormal closure
//!   (1006).
//! * A stream reset by the peer mid-message ends that WebSocket with an abnormal closure
//!   (1006, or a `ConnectionReset` I/O error); the connection's other streams go on.
//! * On shutdown, [`serve`] sends GOAWAY: open WebSockets run on until they end (bounded by
//!   [`ServeConfig::drain_timeout`]); new streams are refused.
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
mod prefixed;
mod server;
mod stream;
mod transport;

pub use client::{H2Client, H2Options, connect, connect_with};
pub use server::{ALPN, ConnectionInfo, ServeConfig, serve};
pub use stream::H2Stream;
pub use transport::Transport;
