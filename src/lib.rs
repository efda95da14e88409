//! ropeway: a WebSocket library (RFC 6455) built as a sans-IO protocol core plus thin
//! runtime adapters.
//!
//! Pick a runtime with a cargo feature: `tokio` (default). The protocol core is
//! re-exported as [`core`], and its everyday types at the top level.
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
#![forbid(unsafe_code)]

pub use ropeway_core as core;
pub use ropeway_core::{
    CloseCode, CloseFrame, Config, ConnectionError, Limits, Message, MessageKind, ProtocolError,
    SendOptions, UsageError, Utf8Bytes,
};

/// The tokio runtime adapter (feature `tokio`).
#[cfg(feature = "tokio")]
pub use ropeway_tokio as tokio;
