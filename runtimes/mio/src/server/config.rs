//! The event-loop server's settings: the WebSocket settings every runtime shares, plus what
//! only an event loop has (loops, the cross-thread queue, the slow-consumer policy).

use std::time::Duration;

use ropeway_core::{CloseCode, CloseFrame, ServerConfig};

/// The most loops one server runs (a [`super::ConnId`] names its loop in 8 bits).
pub const MAX_LOOPS: usize = 256;

/// Settings of a [`super::Server`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The WebSocket settings shared with the other runtimes: limits (frame, message,
    /// handshake, queued output), keep-alive, close and handshake timeouts, origin
    /// allow-list, permessage-deflate, read size.
    pub websocket: ServerConfig,
    /// Event loops, each on its own thread, each serving its connections to their end
    /// (default 1; at most [`MAX_LOOPS`]).
    pub loops: usize,
    /// Commands a [`super::Handle`] may queue for one loop before it reports
    /// [`super::HandleError::Full`] (default 4,096). The queue is bounded: a thread that sends
    /// faster than the loop serves learns it instead of growing memory.
    pub queue_capacity: usize,
    /// What happens to a message for a connection whose queued output is over its limit
    /// (`websocket.core.limits.max_queued_output`): see [`SlowConsumer`].
    pub slow_consumer: SlowConsumer,
    /// How messages reach the handler: whole, or in pieces (see [`Delivery`]).
    pub delivery: Delivery,
    /// Readiness events taken from the OS per poll (default 1,024).
    pub events_capacity: usize,
    /// Reads of one connection in a row before the loop turns to the others (default 16):
    /// a peer that sends without pause cannot starve the rest of its loop.
    pub read_budget: u32,
    /// Set `TCP_NODELAY` on accepted connections (default true: WebSocket messages are
    /// written whole, and Nagle's algorithm would only delay them).
    pub nodelay: bool,
    /// The close frame every open connection gets on [`super::Handle::stop`] (default 1001,
    /// "going away").
    pub going_away: CloseFrame,
    /// How long [`super::Handle::stop`] waits for the close handshakes before the loops
    /// end the connections left (default 10 s; each handshake is also bounded by
    /// `websocket.core.close_timeout`).
    pub shutdown_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            websocket: ServerConfig::default(),
            loops: 1,
            queue_capacity: 4096,
            slow_consumer: SlowConsumer::Drop,
            delivery: Delivery::Messages,
            events_capacity: 1024,
            read_budget: 16,
            nodelay: true,
            going_away: CloseFrame::new(CloseCode::GOING_AWAY, "going away"),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// What the server does with a message for a connection that does not read fast enough
/// (the core's, the same for the async registry): under [`SlowConsumer::Drop`] a send in the
/// loop reports [`super::SendError::Dropped`], and a message from a [`super::Handle`] or a
/// broadcast calls [`super::Handler::on_dropped`].
pub use ropeway_core::SlowConsumer;

/// How received messages reach the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Whole messages, [`super::Handler::on_message`] (up to `max_message_size`).
    Messages,
    /// Pieces of at most this many bytes as they arrive, [`super::Handler::on_piece`] (like
    /// the reference stack's `ReceiveAsync` into a buffer with `EndOfMessage`): a message of
    /// any size streams through without being assembled. Clamped to 1..=32 KiB.
    Pieces(usize),
}
