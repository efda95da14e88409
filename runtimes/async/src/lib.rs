//! ropeway's async WebSocket, written once for every async runtime.
//!
//! [`WebSocket`], its split halves and their task, [`Incoming`](server::Incoming) and
//! accept, the client handshake and connect, `Stream`/`Sink`, pieces and prepared messages
//! live here, and the client that reconnects by itself ([`Reconnecting`]), generic over a [`Runtime`] (a clock, a timer, spawn) and its transports
//! ([`Io`]). The core's [`Driver`](ropeway_core::driver::Driver) decides every step of a
//! connection; this crate carries the steps out, and the bindings (`ropeway-tokio`,
//! `ropeway-smol`) only map the runtime: their `WebSocket<S>` is this crate's
//! `WebSocket<S, Tokio>` (or `Smol`), and every fix made here reaches both.
//!
//! Applications use a binding, not this crate; a binding for another runtime implements
//! [`Runtime`], [`Io`] for its transports and [`Connect`] for its client, in about a hundred
//! lines (see `ropeway-smol`'s `runtime.rs`).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod client;
mod drive;
mod io_util;
mod proxy;
pub mod reconnect;
pub mod registry;
mod runtime;
pub mod server;
mod split;
mod websocket;

pub use io_util::timeout;
pub use reconnect::Reconnecting;
pub use registry::{ConnectionId, Delivered, Delivery, Registry, going_away};
pub use runtime::{Connect, Io, Runtime};
pub use split::{ReadHalf, SplitTask, WriteHalf};
pub use websocket::WebSocket;
