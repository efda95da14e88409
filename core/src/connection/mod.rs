//! The WebSocket connection after the opening handshake: a sans-IO state machine.
//!
//! # Driving a connection
//!
//! An adapter owns the transport, a read buffer and one timer, and loops:
//!
//! 1. **read** bytes into its `BytesMut`; on end of stream call [`Connection::handle_eof`];
//! 2. **recv**: call [`Connection::recv`] (or [`Connection::recv_partial`]) until it returns
//!    `Ok(None)` (more input needed) or an error, handing each [`Event`](crate::Event) to the application;
//! 3. **transmit**: write [`Connection::poll_transmit`] to the transport and report what was
//!    written with [`Connection::advance_transmit`];
//! 4. **sleep** until [`Connection::poll_timeout`], then call [`Connection::handle_timeout`];
//! 5. stop when [`Connection::is_terminated`] and the output is written: close the transport.
//!
//! Sending ([`Connection::send`], [`Connection::ping`], [`Connection::close`] …) only queues
//! bytes; step 3 writes them. Events are decoded lazily, one per `recv` call, so the core
//! never queues events and the application's pace is the reader's pace.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use ropeway_core::{Config, Connection, Event, MessageKind};
//!
//! let now = Instant::now();
//! let mut server = Connection::server(Config::default(), now);
//! // A masked text frame "Hello" from a client (RFC 6455 §5.7).
//! let mut input = BytesMut::from(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58][..]);
//! let Some(Event::Data(data)) = server.recv(&mut input).unwrap() else { panic!() };
//! assert_eq!(&data.payload[..], b"Hello");
//! server.send(MessageKind::Text, &data.payload).unwrap();
//! assert_eq!(server.poll_transmit(now), &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
//! ```

mod chunks;
mod negotiated;
mod prepared;
mod recv;
mod send;

pub use self::prepared::PreparedMessage;
pub use self::send::SendOptions;

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::budget::MemoryBudget;
use crate::config::Config;
use crate::entropy::Entropy;
use crate::error::{ConnectionError, ProtocolError};
use crate::extension::{Extension, ExtensionOffer};
use crate::role::Role;
use crate::state::State;
use crate::timer::{Timer, TimerTable};

use self::negotiated::Negotiated;
use self::recv::Decoder;
use self::send::Encoder;

/// A WebSocket connection in the Open state or later, for either role.
pub struct Connection {
    role: Role,
    /// Shared: a server's connections all point at one copy.
    config: Arc<Config>,
    state: State,
    /// The error the connection ended with; sticky: every later `recv` reports it. Boxed:
    /// rare, and every connection carries the slot.
    error: Option<Box<ConnectionError>>,
    decoder: Decoder,
    encoder: Encoder,
    /// The negotiated extension; boxed with its buffers, as most connections have none.
    extension: Option<Box<Negotiated>>,
    /// What the opening handshake agreed on, as the 101 said it; boxed and absent when it
    /// agreed on nothing, so a plain connection pays one pointer.
    agreed: Option<Box<Agreed>>,
    timers: TimerTable,
    /// Something arrived since the keep-alive timer was last armed.
    heard_from_peer: bool,
    /// The transport reported end of stream.
    eof: bool,
    /// The transport should end now, whatever is still queued (dead peer, timeout).
    abort: bool,
    /// While the write stall timer runs: how much of the output queued when it started is
    /// still unwritten. Only writing all of it stops the timer, so a peer that reads a
    /// trickle (a few bytes whenever the kernel's buffers grow) cannot hold the output
    /// forever; it must read the backlog within the timeout.
    stall_backlog: u32,
    /// When the last keep-alive ping was handed to the transport: the next one is due an
    /// interval after it, however quickly the peer answered.
    last_ping: Option<Instant>,
    /// The server's memory budget, until a driver takes it to charge
    /// ([`Connection::take_memory_budget`]).
    budget: Option<Arc<MemoryBudget>>,
}

/// What the opening handshake agreed on.
#[derive(Debug)]
struct Agreed {
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("error", &self.error)
            .field("queued", &self.encoder.queued())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection, opened at `now`. Pass an `Arc<Config>` to share one copy
    /// of the settings among many connections.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Instant;
    /// use ropeway_core::{Config, Connection, Role};
    ///
    /// // One copy of the settings for every connection of a server.
    /// let shared = Arc::new(Config::default());
    /// let conns: Vec<_> = (0..2).map(|_| Connection::server(shared.clone(), Instant::now())).collect();
    /// assert_eq!(conns[0].role(), Role::Server);
    /// ```
    pub fn server(config: impl Into<Arc<Config>>, now: Instant) -> Self {
        Self::new(Role::Server, config.into(), None, now)
    }

    /// A client-side connection, opened at `now`, masking with keys from `entropy`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{Config, Connection, MessageKind, SeededEntropy};
    ///
    /// let now = Instant::now();
    /// let entropy = Box::new(SeededEntropy::from_seed([0; 32])); // adapters seed it from the OS
    /// let mut client = Connection::client(Config::default(), entropy, now);
    /// client.send(MessageKind::Text, b"hi").unwrap();
    /// let frame = client.poll_transmit(now);
    /// assert_eq!(frame[1] & 0x80, 0x80); // masked, as a client must
    /// ```
    pub fn client(config: impl Into<Arc<Config>>, entropy: Box<dyn Entropy>, now: Instant) -> Self {
        Self::new(Role::Client, config.into(), Some(entropy), now)
    }

    fn new(
        role: Role,
        config: Arc<Config>,
        entropy: Option<Box<dyn Entropy>>,
        now: Instant,
    ) -> Self {
        let mut timers = TimerTable::new(now);
        if let Some(interval) = config.keep_alive_interval {
            timers.set(Timer::KeepAlive, now + interval);
        }
        Connection {
            role,
            config,
            state: State::Open,
            error: None,
            decoder: Decoder::new(),
            encoder: Encoder::new(entropy),
            extension: None,
            agreed: None,
            timers,
            heard_from_peer: false,
            eof: false,
            abort: false,
            stall_backlog: 0,
            last_ping: None,
            budget: None,
        }
    }

    /// Adds the extension negotiated in the opening handshake (e.g. permessage-deflate).
    pub fn with_extension(mut self, extension: Box<dyn Extension>) -> Self {
        self.extension = Some(Box::new(Negotiated::new(extension)));
        self
    }

    /// Shares a server's memory budget with this connection: the driver that drives it
    /// charges the budget with what it buffers (see [`MemoryBudget`]).
    pub fn with_memory_budget(mut self, budget: Option<Arc<MemoryBudget>>) -> Self {
        self.budget = budget;
        self
    }

    /// The memory budget set by [`Connection::with_memory_budget`], handed over once.
    pub fn take_memory_budget(&mut self) -> Option<Arc<MemoryBudget>> {
        self.budget.take()
    }

    /// Fails the connection because this side refuses to buffer more for it (a spent memory
    /// budget): the close frame carries the error's code.
    pub(crate) fn refuse(&mut self, error: ProtocolError) {
        self.fail(error);
    }

    /// Records what the opening handshake agreed on: the subprotocol and the extensions with
    /// their parameters as the 101 response named them (the handshakes call this; see
    /// [`Connection::protocol`] and [`Connection::negotiated_extensions`]).
    pub fn with_agreement(
        mut self,
        protocol: Option<String>,
        extensions: Vec<ExtensionOffer>,
    ) -> Self {
        self.agreed = (protocol.is_some() || !extensions.is_empty()).then(|| {
            Box::new(Agreed {
                protocol,
                extensions,
            })
        });
        self
    }

    /// The subprotocol the opening handshake agreed on (`Sec-WebSocket-Protocol` of the 101),
    /// if any.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{Config, Connection};
    ///
    /// let conn = Connection::server(Config::default(), Instant::now())
    ///     .with_agreement(Some("chat.v1".into()), Vec::new());
    /// assert_eq!(conn.protocol(), Some("chat.v1"));
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.agreed.as_ref()?.protocol.as_deref()
    }

    /// The extensions the opening handshake agreed on, with their parameters as the 101
    /// response named them (e.g. `permessage-deflate; server_no_context_takeover`); empty
    /// when none was.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{Config, Connection};
    /// use ropeway_core::extension::ExtensionOffer;
    ///
    /// let deflate = ExtensionOffer::new("permessage-deflate").param("server_no_context_takeover", None);
    /// let conn = Connection::server(Config::default(), Instant::now())
    ///     .with_agreement(None, vec![deflate]);
    /// assert_eq!(conn.negotiated_extensions()[0].to_string(), "permessage-deflate; server_no_context_takeover");
    /// ```
    pub fn negotiated_extensions(&self) -> &[ExtensionOffer] {
        self.agreed.as_ref().map_or(&[], |a| &a.extensions)
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The negotiated extension, if any.
    pub fn extension(&self) -> Option<&dyn Extension> {
        self.extension.as_deref().map(|n| &*n.extension)
    }

    /// Where the connection stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// The error the connection ended with, if it did not end cleanly.
    pub fn error(&self) -> Option<&ConnectionError> {
        self.error.as_deref()
    }

    /// Input: the transport has no more bytes. Events still in the read buffer are decoded
    /// by the next `recv` calls; after them, a connection that was not closed cleanly reports
    /// [`ConnectionError::Abnormal`] (1006).
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{BytesMut, Config, Connection, ConnectionError, Event};
    ///
    /// let mut conn = Connection::server(Config::default(), Instant::now());
    /// // A whole masked text frame "a", then the end of the stream.
    /// let mut input = BytesMut::from(&[0x81, 0x81, 0, 0, 0, 0, b'a'][..]);
    /// conn.handle_eof();
    /// assert!(matches!(conn.recv(&mut input), Ok(Some(Event::Data(_))))); // buffered events first
    /// assert_eq!(conn.recv(&mut input), Err(ConnectionError::Abnormal)); // then 1006
    /// ```
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// The earliest time at which [`Connection::handle_timeout`] has work to do.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ropeway_core::{Config, Connection};
    ///
    /// // Keep-alive on a virtual clock: no sleeping in tests.
    /// let start = Instant::now();
    /// let config = Config { keep_alive_interval: Some(Duration::from_secs(10)), ..Config::DEFAULT };
    /// let mut conn = Connection::server(config, start);
    /// let deadline = conn.poll_timeout().unwrap();
    /// assert_eq!(deadline, start + Duration::from_secs(10));
    /// conn.handle_timeout(deadline); // quiet for an interval: a ping is queued
    /// assert_eq!(conn.poll_transmit(deadline)[0], 0x89);
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// A number that changes whenever a deadline is armed or stopped: while it stays the
    /// same, so does [`Connection::poll_timeout`].
    pub fn timer_epoch(&self) -> u8 {
        self.timers.epoch()
    }

    /// Input: time has passed. Sends keep-alive pings, detects a dead peer, and ends a close
    /// handshake that takes too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.take_expired(now) {
            match timer {
                Timer::KeepAlive => self.on_keep_alive(now),
                Timer::KeepAliveTimeout => self.on_keep_alive_timeout(now),
                Timer::Close => self.on_close_timeout(),
                Timer::WriteStall => self.end_with(ConnectionError::WriteStalled),
            }
        }
    }

    /// Whether the transport should be closed now: after a clean close (a server closes
    /// first; a client waits for the server's end of stream, up to the close timeout), or
    /// after a failure. Write any output still queued first, unless the peer is gone.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{BytesMut, CloseFrame, Config, Connection, Event};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(Config::default(), now);
    /// conn.close(Some(CloseFrame::new(1000, ""))).unwrap();
    /// let written = conn.poll_transmit(now).len();
    /// conn.advance_transmit(written); // the close frame is out
    /// assert!(!conn.is_terminated()); // waiting for the peer's close
    /// // The client's masked close frame with code 1000.
    /// let mut input = BytesMut::from(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8][..]);
    /// assert!(matches!(conn.recv(&mut input), Ok(Some(Event::Close(_)))));
    /// assert!(conn.is_terminated());
    /// ```
    pub fn is_terminated(&self) -> bool {
        if self.abort {
            return true;
        }
        self.state == State::Closed
            && self.encoder.queued() == 0
            && (self.role == Role::Server || self.eof)
    }

    /// Input: the transport took none of the queued output (would block) at `now`. Starts the
    /// write stall timer unless it runs already. Writing everything that was queued when it
    /// started stops it; partial progress does not (a peer that reads a trickle would
    /// otherwise hold the output forever).
    pub fn handle_write_blocked(&mut self, now: Instant) {
        let Some(timeout) = self.config.write_stall_timeout else {
            return;
        };
        let queued = self.encoder.queued();
        if queued > 0 && !self.timers.is_armed(Timer::WriteStall) && !self.abort {
            self.timers.set(Timer::WriteStall, now + timeout);
            self.stall_backlog = u32::try_from(queued).unwrap_or(u32::MAX);
        }
    }

    /// Input: bytes arrived from the peer. Any bytes prove it alive for keep-alive, not only
    /// whole frames: a peer sending one large frame slowly cannot answer a ping until it ends.
    #[inline]
    pub fn handle_bytes_received(&mut self) {
        self.heard_from_peer = true;
    }

    /// Whether a timer gave up on the peer (dead peer, close timeout): the transport should
    /// end now, whatever is still queued or unread.
    pub fn is_aborted(&self) -> bool {
        self.abort
    }

    fn on_keep_alive(&mut self, now: Instant) {
        let Some(interval) = self.config.keep_alive_interval else {
            return;
        };
        if std::mem::take(&mut self.heard_from_peer) || !self.state.can_send() {
            self.timers.set(Timer::KeepAlive, now + interval);
            return;
        }
        // Quiet for a whole interval: ping. The timeout is armed when the ping is handed to
        // the transport, so a slow flush does not count against the peer.
        self.encoder.queue_keep_alive_ping();
    }

    fn on_keep_alive_timeout(&mut self, now: Instant) {
        if std::mem::take(&mut self.heard_from_peer) {
            // Alive. The next ping is due an interval after the last one (not after this
            // check), unless the peer sends something before then.
            if let Some(interval) = self.config.keep_alive_interval {
                let due = self.last_ping.map_or(now, |sent| sent + interval);
                self.timers.set(Timer::KeepAlive, due.max(now));
            }
            return;
        }
        self.end_with(ConnectionError::KeepAliveTimeout);
    }

    fn on_close_timeout(&mut self) {
        if self.state == State::Closed && self.error.is_none() {
            // A client whose server did not end the transport in time: the handshake itself
            // was clean, so only the transport is ended.
            self.abort = true;
        } else if self.error.is_some() {
            self.abort = true;
        } else {
            self.end_with(ConnectionError::CloseTimeout);
        }
    }

    /// Ends the connection without a close handshake: the transport should close at once.
    fn end_with(&mut self, error: ConnectionError) {
        self.error.get_or_insert_with(|| Box::new(error));
        self.state = State::Closed;
        self.abort = true;
        self.timers.stop_all();
    }

    /// Fails the connection (RFC 6455 §7.1.7): queues a close frame with the error's code,
    /// refuses further input, and reports the error from now on.
    fn fail(&mut self, error: ProtocolError) -> ConnectionError {
        let code = error.close_code();
        if self.state == State::Open {
            self.encoder.queue_failure_close(code, &error);
        }
        self.state = State::Closed;
        self.timers.stop(Timer::KeepAlive);
        self.timers.stop(Timer::KeepAliveTimeout);
        let error = ConnectionError::Protocol(error);
        self.error = Some(Box::new(error.clone()));
        error
    }

    /// How many more bytes the frame being decoded needs beyond the `buffered` ones already
    /// read, so an adapter can size its next read (0 when it is between frames).
    pub fn read_hint(&self, buffered: usize) -> usize {
        self.decoder.bytes_needed(buffered)
    }
}

/// Splits the first `len` bytes off the read buffer. When they are all of it (the usual case
/// for small messages: one frame per read), the buffer is taken whole, because freezing an
/// unshared buffer needs no allocation where splitting one allocates its shared header.
pub(crate) fn take_front(input: &mut BytesMut, len: usize) -> BytesMut {
    if len == input.len() {
        std::mem::take(input)
    } else {
        input.split_to(len)
    }
}

/// The first `len` bytes of the read buffer as `Bytes`, without a copy.
pub(crate) fn freeze(input: &mut BytesMut, len: usize) -> Bytes {
    take_front(input, len).freeze()
}
