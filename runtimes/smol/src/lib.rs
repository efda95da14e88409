//! ropeway over smol / async-io: WebSocket servers and clients over any `futures-io`
//! transport (`async_net::TcpStream`, `Async<T>`, TLS streams).
//!
//! A thin binding: the core's [`ropeway_core::driver::Driver`] decides every step of a
//! connection (and [`ropeway_core::handshake::ServerHandshake`] every step of the opening
//! handshake), and ropeway-async carries the steps out, written once for every async
//! runtime; this crate maps them onto futures-io transports, an `async_io::Timer` and smol's
//! global executor ([`Smol`]), and opens TCP and TLS for the client.
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
//!
//! # Re-exports
//!
//! [`http`] (for headers in a [`ClientRequest`] and for responses) and, with the `tls`
//! feature, [`rustls`]: the very versions this crate was built with, so a
//! `rustls::ClientConfig` with your own roots fits [`ClientConfig::tls`] without a version
//! clash. If you depend on rustls yourself, use version 0.23 with
//! `default-features = false, features = ["ring", "std", "tls12"]` (the provider this crate
//! installs; `aws-lc-rs` works too if you build the whole config yourself with
//! `builder_with_provider`), or simply use `ropeway_smol::rustls`.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
mod runtime;
pub mod server;
pub mod tls;

pub use client::{ClientConfig, connect, connect_with};
pub use ropeway_async::api::*;
pub use ropeway_common::{NoProxy, Proxy, ProxyConfig, ProxyError};
pub use runtime::Smol;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use rustls;
pub use server::{Incoming, accept};
pub use tls::MaybeTlsStream;

/// A WebSocket connection over any futures-io transport (`async_net::TcpStream`, a TLS
/// stream, an `Async<UnixStream>`, an in-memory pipe): ropeway-async's
/// [`WebSocket`](ropeway_async::WebSocket) on [`Smol`]. Its methods and their examples are
/// documented there.
pub type WebSocket<S> = ropeway_async::WebSocket<S, Smol>;

/// The task that drives a split connection, from
/// [`WebSocket::split_task`](ropeway_async::WebSocket::split_task), to spawn on an executor
/// of your own (`executor.spawn(task).detach()`); [`WebSocket::split`](ropeway_async::WebSocket::split)
/// spawns it on smol's global executor.
pub type SplitTask<S> = ropeway_async::SplitTask<S, Smol>;

/// A client that reconnects by itself with backoff and jitter, on async-io's timer:
/// ropeway-async's [`Reconnecting`](ropeway_async::Reconnecting) on [`Smol`], where its
/// methods, the events it reports and an example are documented.
pub type Reconnecting = ropeway_async::Reconnecting<Smol>;

/// A registry of open WebSockets on smol, for a graceful shutdown (1001 to every one, then
/// wait for the close handshakes up to a deadline): ropeway-async's
/// [`Registry`](ropeway_async::Registry) on [`Smol`].
pub type Registry = ropeway_async::Registry<Smol>;
