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
#![forbid(unsafe_code)]

pub use ropeway_core as core;
pub use ropeway_core::{
    CloseCode, CloseFrame, Config, ConnectionError, Limits, Message, MessageKind, ProtocolError,
    SendOptions, UsageError, Utf8Bytes,
};

/// The tokio runtime adapter (feature `tokio`).
#[cfg(feature = "tokio")]
pub use ropeway_tokio as tokio;

/// The smol / async-io runtime adapter (feature `smol`).
#[cfg(feature = "smol")]
pub use ropeway_smol as smol;

/// The blocking mio event-loop server and blocking client (feature `mio`).
#[cfg(feature = "mio")]
pub use ropeway_mio as mio;
