//! The blocking client: `ws://` and `wss://` over `std::net::TcpStream`, with connect,
//! handshake, read and write timeouts, and one thread reading while others write.
//!
//! ```no_run
//! use std::io::BufRead;
//! use ropeway_mio::client::{self, Message};
//!
//! let (ws, _response) = client::connect("ws://127.0.0.1:9001/ws")?;
//! let (mut reader, writer) = ws.split();
//! std::thread::spawn(move || {
//!     while let Some(Ok(message)) = reader.recv() {
//!         println!("< {message:?}");
//!     }
//! });
//! for line in std::io::stdin().lock().lines() {
//!     writer.send(Message::text(line?))?;
//! }
//! writer.close(None)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why blocking `std` sockets, not mio
//!
//! A client is one connection: a thread blocked in `read` on it costs nothing an event loop
//! would save, and two threads can block on one socket at once, one in `read` and one in
//! `write` (a `try_clone` of it), which is what lets a reader and a writer work without
//! waiting for each other. mio would add a `Poll` and a non-blocking state machine per
//! handle and an extra system call per operation for nothing. The socket timeouts
//! (`SO_RCVTIMEO`/`SO_SNDTIMEO`) give the read and write timeouts and the core's timers:
//! each read waits at most until the driver's next deadline.
//!
//! # The timeouts, and the error each gives
//!
//! | timeout | set in | default | error |
//! |---|---|---|---|
//! | connect (TCP, and TLS for `wss://`) | [`ClientConfig::connect_timeout`] | 10 s | [`Error::ConnectTimeout`] |
//! | a proxy's answer (within the connect timeout) | [`ClientConfig::connect_timeout`] | 10 s | [`ProxyError::Timeout`] |
//! | opening handshake | [`ClientConfig::handshake_timeout`] | 10 s | [`Error::HandshakeTimeout`] |
//! | one `recv` | [`Options::read_timeout`] | none (keep-alive finds a dead peer) | [`Timeout::Read`] (connection stays open) |
//! | one blocked write | [`Options::write_timeout`] | 30 s | [`Timeout::Write`] (connection ends) |
//!
//! Keep-alive pings, the dead-peer timeout and the close timeout are the core's
//! ([`ropeway_core::Config`]).

mod connect;
mod options;
mod reconnecting;
mod shared;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
mod tls_layers;
mod websocket;

#[cfg(feature = "tls")]
pub use connect::handshake_tls;
pub use connect::{connect, connect_with, handshake};
pub use options::{Options, Timeout};
pub use reconnecting::Reconnecting;
#[cfg(feature = "tls")]
pub use ropeway_common::tls::default_client_config;
pub use ropeway_common::{ClientConfig, NoProxy, Proxy, ProxyConfig, ProxyError};
pub use ropeway_core::driver::Piece;
pub use ropeway_core::extension::ExtensionOffer;
pub use ropeway_core::handshake::ClientRequest;
/// The reconnect schedule and its verdicts ([`Stop`](ropeway_core::reconnect::Stop), [`Backoff`](ropeway_core::reconnect::Backoff) …).
pub use ropeway_core::reconnect;
pub use ropeway_core::reconnect::{Disconnect, NotSent, Reconnect, ReconnectPolicy};
pub use ropeway_core::{
    CloseCode, CloseFrame, Config, ConnectionError, Error, Limits, Message, MessageKind,
    PreparedMessage, SendOptions, State, Utf8Bytes,
};
pub use websocket::{Reader, WebSocket, Writer};
