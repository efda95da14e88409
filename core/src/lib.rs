//! ropeway-core: the sans-IO WebSocket protocol (RFC 6455).
//!
//! Bytes in, bytes and events out: no sockets, no async runtime, no clock reads, no OS
//! randomness. Time and randomness are inputs, so every behaviour is reproducible in tests.
//! The runtime adapters (`ropeway-tokio`, …) drive this crate over real transports.
//!
//! * [`handshake`]: the opening handshake, both roles, HTTP/1.1 upgrade and HTTP/2 CONNECT.
//! * [`Connection`]: everything after it (framing, masking, UTF-8, ping/pong, close, timers).
//! * [`driver`]: a connection's whole life (read, write, wait, end) decided once for every
//!   runtime adapter.
//! * [`extension`]: the hooks through which permessage-deflate plugs in.
//! * [`proxy`]: HTTP `CONNECT` and SOCKS5 proxy handshakes, proxy URLs, `NO_PROXY`.
//!
//! See [`Connection`] for the polling order and an example.
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod backplane;
pub mod budget;
pub mod close;
pub mod config;
pub mod connection;
#[cfg(feature = "deflate")]
#[cfg_attr(docsrs, doc(cfg(feature = "deflate")))]
pub mod deflate;
pub mod driver;
pub mod entropy;
pub mod error;
pub mod event;
pub mod extension;
pub mod frame;
pub mod handshake;
pub mod limits;
#[allow(unsafe_code)]
pub mod mask;
pub mod message;
pub mod proxy;
pub mod reconnect;
pub mod role;
pub mod server_config;
pub mod shared_config;
pub mod slow_consumer;
pub mod state;
mod timer;
pub mod utf8;

pub use bytes::{Bytes, BytesMut};
pub use close::{CloseCode, CloseFrame};
pub use config::Config;
pub use connection::Connection;
pub use connection::{PreparedMessage, SendOptions};
pub use driver::{Driver, Error, Goal, Next, Piece};
pub use entropy::{Entropy, SeededEntropy, ZeroEntropy};
pub use error::{ConnectionError, ProtocolError, UsageError};
pub use event::{Data, Event, MessageKind};
pub use handshake::HandshakeError;
/// The `http` crate the handshake types are built on (headers, requests, responses).
pub use http;
pub use limits::Limits;
pub use message::{Assembler, Message, Utf8Bytes};
pub use role::Role;
pub use server_config::ServerConfig;
pub use slow_consumer::SlowConsumer;
pub use state::State;
