//! ropeway over tokio: WebSocket servers and clients over TCP, TLS and hyper upgrades.
//!
//! A thin binding: the core's [`ropeway_core::driver::Driver`] decides every step of a
//! connection (and [`ropeway_core::handshake::ServerHandshake`] every step of the opening
//! handshake); this crate carries the steps out with tokio's sockets, timer and tasks.
//!
//! ```no_run
//! use ropeway_tokio::{Message, server};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tcp.set_nodelay(true)?;
//!     tokio::spawn(async move {
//!         let mut ws = server::accept(tcp).await?;
//!         while let Some(message) = ws.recv().await {
//!             let message = message?;
//!             if message.is_data() {
//!                 ws.send(message).await?;
//!             }
//!         }
//!         Ok::<_, ropeway_tokio::Error>(())
//!     });
//! }
//! # }
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod client;
#[cfg(feature = "h2")]
pub mod h2;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod server;
mod split;
pub mod tls;
mod websocket;

pub use client::{ClientConfig, connect, connect_with};
pub use ropeway_core::driver::Piece;
pub use ropeway_core::handshake::{Accept, ClientRequest};
pub use ropeway_core::{
    CloseCode, CloseFrame, Config, ConnectionError, Error, Limits, Message, MessageKind,
    PreparedMessage, SendOptions, ServerConfig, Utf8Bytes,
};
pub use server::{Incoming, accept};
pub use split::{ReadHalf, WriteHalf};
pub use tls::MaybeTlsStream;
pub use websocket::WebSocket;
