//! ropeway over tokio: WebSocket servers and clients over TCP, TLS and hyper upgrades.
//!
//! A thin adapter: it reads, feeds the sans-IO core ([`ropeway_core`]), hands events to the
//! application, writes what the core queued and sleeps until the core's next timer. All
//! protocol logic lives in the core.
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

pub mod client;
mod error;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod server;
mod shared_config;
mod spare_output;
mod split;
pub mod tls;
mod websocket;

pub use client::{ClientConfig, connect, connect_with};
pub use error::Error;
pub use ropeway_core::handshake::{Accept, ClientRequest};
pub use ropeway_core::{
    CloseCode, CloseFrame, Config, ConnectionError, Limits, Message, MessageKind, SendOptions,
    Utf8Bytes,
};
pub use server::{Incoming, ServerConfig, accept};
pub use split::{ReadHalf, WriteHalf};
pub use tls::MaybeTlsStream;
pub use websocket::{Piece, WebSocket};
