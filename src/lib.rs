//! ropeway: a WebSocket library (RFC 6455) built as a sans-IO protocol core plus thin
//! runtime adapters.
//!
//! Pick a runtime with a cargo feature: `tokio` (default) or `smol` (smol / async-io, over
//! any futures-io transport); both can be on at once. The protocol core is re-exported as
//! [`core`], and its everyday types at the top level.
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn run() -> Result<(), ropeway::tokio::Error> {
//! let (mut ws, _response) = ropeway::tokio::connect("ws://127.0.0.1:5000/ws").await?;
//! ws.send(ropeway::Message::text("hello")).await?;
//! if let Some(reply) = ws.recv().await {
//!     println!("{:?}", reply?);
//! }
//! ws.close(Some(ropeway::CloseFrame::new(1000, "done"))).await?;
//! # Ok(()) }
//! ```
//!
//! The same with smol (`features = ["smol"]`):
//!
//! ```no_run
//! # #[cfg(feature = "smol")]
//! # fn run() -> Result<(), ropeway::smol::Error> {
//! smol::block_on(async {
//!     let (mut ws, _response) = ropeway::smol::connect("ws://127.0.0.1:5000/ws").await?;
//!     ws.send(ropeway::Message::text("hello")).await?;
//!     ws.close(None).await
//! })
//! # }
//! ```
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tokio` | yes | `ropeway::tokio`: server, client, split halves over tokio |
//! | `smol` | | `ropeway::smol`: the same API over smol / async-io and any futures-io transport |
//! | `mio` | | `ropeway::mio`: a blocking mio event-loop server and a blocking client |
//! | `tls` | | `wss://` clients with rustls (ring provider, webpki roots or your own), for every runtime that is on; re-exports `ropeway::rustls` |
//! | `hyper` | | `ropeway::tokio::hyper`: turn a hyper 1.x upgrade request into a `WebSocket` |
//! | `h2` | | WebSockets over HTTP/2 (RFC 8441 extended CONNECT) for `ropeway::tokio` |
//! | `axum` | | the axum extractor: a WebSocket route next to normal routes |
//!
//! permessage-deflate (RFC 7692) is always built (`ropeway_core`'s `deflate` feature, on by
//! default) and off at run time until a server or client enables it. With `--no-default-features`
//! only the sans-IO core is left, for a runtime of your own.
//!
//! Items that need a feature carry a badge in these docs.
//!
//! # Naming the runtime module: `ropeway::tokio` and the tokio crate
//!
//! `use ropeway::tokio;` brings a module named `tokio` into scope, which then shadows the
//! tokio crate: `#[tokio::main]` and `tokio::spawn` resolve to ropeway's module and fail.
//! The module keeps its name (it says which runtime it is for, the same as `ropeway::smol`
//! and `ropeway::mio`, and existing code names it); import its items, or give it another
//! name, instead of importing the module itself:
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # mod example {
//! use ropeway::tokio as ws;               // or: use ropeway::tokio::{connect, Message};
//!
//! #[tokio::main]                          // still the tokio crate
//! async fn main() -> Result<(), ws::Error> {
//!     let (mut socket, _) = ws::connect("ws://127.0.0.1:5000/ws").await?;
//!     socket.send(ws::Message::text("hello")).await
//! }
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Every code block of the README compiles (and, where it needs no network, runs) as a
// doctest of this crate, with the paths a facade user writes. The blocks use every runtime,
// so they are checked when all the features are on (`cargo test --all-features`, which
// `scripts/test` runs).
#[cfg(all(
    doctest,
    feature = "tokio",
    feature = "smol",
    feature = "mio",
    feature = "tls",
    feature = "h2",
    feature = "axum",
    feature = "redis"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use ropeway_core as core;
pub use ropeway_core::driver::{TlsError, TlsErrorKind};
pub use ropeway_core::{
    CloseCode, CloseFrame, Config, ConnectionError, Limits, Message, MessageKind, ProtocolError,
    SendOptions, UsageError, Utf8Bytes,
};
pub use ropeway_core::{Error, HandshakeError};

/// The `http` crate ropeway is built with: request and response types, and the header names
/// and values of a `ClientRequest`.
pub use ropeway_core::http;

/// The rustls ropeway is built with (feature `tls`): build a `rustls::ClientConfig` (your own
/// roots, client certificates) with it, so its version is the one ropeway expects.
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use ropeway_tokio::rustls;

/// The tokio runtime adapter (feature `tokio`). Import its items or rename it
/// (`use ropeway::tokio as ws;`): importing the module itself shadows the tokio crate.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use ropeway_tokio as tokio;

/// The smol / async-io runtime adapter (feature `smol`).
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub use ropeway_smol as smol;

/// The blocking mio event-loop server and blocking client (feature `mio`).
#[cfg(feature = "mio")]
#[cfg_attr(docsrs, doc(cfg(feature = "mio")))]
pub use ropeway_mio as mio;

/// Groups across server processes: a Redis pub/sub backplane for the async registry and
/// the mio event loop.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use ropeway_redis as redis;
