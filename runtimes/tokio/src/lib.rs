//! ropeway over tokio: WebSocket servers and clients over TCP, TLS and hyper upgrades.
//!
//! A thin binding: the core's [`ropeway_core::driver::Driver`] decides every step of a
//! connection (and [`ropeway_core::handshake::ServerHandshake`] every step of the opening
//! handshake), and ropeway-async carries the steps out, written once for every async
//! runtime; this crate maps them onto tokio's sockets, timer and tasks ([`Tokio`]), opens
//! TCP and TLS for the client, and adds hyper, HTTP/2 and axum.
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
//!
//! # Re-exports
//!
//! [`http`] (for headers in a [`ClientRequest`] and for responses) and, with the `tls`
//! feature, [`rustls`]: the very versions this crate was built with, so a
//! `rustls::ClientConfig` with your own roots fits [`ClientConfig::tls`] without a version
//! clash. If you depend on rustls yourself, use version 0.23 with
//! `default-features = false, features = ["ring", "std", "tls12"]` (the provider this crate
//! installs; `aws-lc-rs` works too if you build the whole config yourself with
//! `builder_with_provider`), or simply use `ropeway_tokio::rustls`.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
pub mod axum;
pub mod client;
mod delegate_io;
#[cfg(feature = "h2")]
pub mod h2;
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper;
mod runtime;
pub mod server;
pub mod tls;

pub use client::{ClientConfig, connect, connect_with};
pub use ropeway_async::api::*;
pub use ropeway_common::{NoProxy, Proxy, ProxyConfig, ProxyError};
pub use runtime::Tokio;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use rustls;
pub use server::{Incoming, accept};
pub use tls::MaybeTlsStream;

/// A WebSocket connection over any tokio transport (`TcpStream`, a TLS stream, a hyper
/// upgrade, an in-memory duplex): ropeway-async's [`WebSocket`](ropeway_async::WebSocket)
/// on [`Tokio`]. Its methods and their examples are documented there.
pub type WebSocket<S> = ropeway_async::WebSocket<S, Tokio>;

/// The task that drives a split connection, from
/// [`WebSocket::split_task`](ropeway_async::WebSocket::split_task), for an executor of your
/// own; [`WebSocket::split`](ropeway_async::WebSocket::split) spawns it with `tokio::spawn`.
pub type SplitTask<S> = ropeway_async::SplitTask<S, Tokio>;

/// A client that reconnects by itself with backoff and jitter, on tokio's timer:
/// ropeway-async's [`Reconnecting`](ropeway_async::Reconnecting) on [`Tokio`], where its
/// methods, the events it reports and an example are documented.
pub type Reconnecting = ropeway_async::Reconnecting<Tokio>;

/// A registry of open WebSockets on tokio, for a graceful shutdown (1001 to every one, then
/// wait for the close handshakes up to a deadline): ropeway-async's
/// [`Registry`](ropeway_async::Registry) on [`Tokio`]. `hyper::upgrade`, the axum
/// extractor and `h2::serve` register the WebSockets they hand out in the `Registry`
/// found in the request's extensions.
pub type Registry = ropeway_async::Registry<Tokio>;
