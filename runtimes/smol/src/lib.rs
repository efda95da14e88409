//! ropeway over smol / async-io: WebSocket servers and clients over any `futures-io`
//! transport (`async_net::TcpStream`, `Async<T>`, TLS streams).
//!
//! A thin binding: the core's [`ropeway_core::driver::Driver`] decides every step of a
//! connection (and [`ropeway_core::handshake::ServerHandshake`] every step of the opening
//! handshake); this crate carries the steps out with futures-io transports, an
//! `async_io::Timer` and, for [`WebSocket::split`], a task on smol's global executor.
//!
//! ```no_run
//! use ropeway_smol::{Message, server};
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (tcp, _) = listener.accept().await?;
//!         tcp.set_nodelay(true)?;
//!         smol::spawn(async move {
//!             let mut ws = server::accept(tcp).await?;
//!             while let Some(message) = ws.recv().await {
//!                 let message = message?;
//!                 if message.is_data() {
//!                     ws.send(message).await?;
//!                 }
//!             }
//!             Ok::<_, ropeway_smol::Error>(())
//!         })
//!         .detach();
//!     }
//! })
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod client;
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
pub use split::{ReadHalf, SplitTask, WriteHalf};
pub use tls::MaybeTlsStream;
pub use websocket::WebSocket;
