//! The blocking client's handles: a [`WebSocket`] used from one thread, or its [`Reader`]
//! and [`Writer`] used from two (or more) at once. Each call carries the core driver's steps
//! out until it has what it waits for; see [`super::shared`] for how the halves share one
//! connection.

use std::io;
use std::sync::Arc;

use ropeway_core::driver::{Goal, Next, Piece};
use ropeway_core::extension::ExtensionOffer;
use ropeway_core::{
    CloseFrame, Error, Event, Message, MessageKind, PreparedMessage, SendOptions, State,
};

use super::shared::Shared;

/// A blocking WebSocket client connection, from [`super::connect`].
///
/// Pings are answered and keep-alive pings sent while a thread is blocked in
/// [`WebSocket::recv`]. To receive on one thread while others send, [`WebSocket::split`]
/// it. Dropping every handle closes the connection (1000) if the socket takes the close
/// frame at once.
///
/// ```no_run
/// use ropeway_mio::client::{self, Message};
///
/// let (mut ws, _response) = client::connect("ws://127.0.0.1:9001/ws")?;
/// ws.send(Message::text("hello"))?;
/// if let Some(reply) = ws.recv() {
///     println!("{:?}", reply?);
/// }
/// ws.close(None)?;
/// # Ok::<(), ropeway_mio::client::Error>(())
/// ```
pub struct WebSocket {
    shared: Arc<Shared>,
}

/// The receiving half of a split [`WebSocket`]; `Send`, so it can move to its own thread.
/// While it is blocked in [`Reader::recv`], the [`Writer`] sends freely.
pub struct Reader {
    shared: Arc<Shared>,
}

/// The sending half of a split [`WebSocket`]: `Send` and cloneable, for any number of
/// threads. A send waits only for the socket (bounded by the write timeout), never for a
/// thread blocked in [`Reader::recv`].
#[derive(Clone)]
pub struct Writer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl WebSocket {
    pub(crate) fn new(shared: Shared) -> Self {
        WebSocket {
            shared: Arc::new(shared),
        }
    }

    /// Receives the next message, blocking. Returns `None` once the connection has ended
    /// (after the close handshake, or after the error that ended it was returned). With a
    /// read timeout set, fails with [`super::Timeout::Read`] and stays usable.
    ///
    /// The peer's close frame (whoever started the close) comes through as
    /// `Some(Ok(Message::Close(frame)))`, then `None` once the handshake is done; an
    /// abnormal end (EOF without a close frame, a protocol error, a timeout) is one
    /// `Some(Err(_))`, then `None`.
    pub fn recv(&mut self) -> Option<Result<Message, Error>> {
        recv(&self.shared)
    }

    /// Receives the next piece of a message into `buf`: a message of any size streams
    /// through a buffer of any (non-zero) size. Pings and pongs are handled and skipped.
    /// `None` once the connection ended. Don't mix with [`WebSocket::recv`] in the middle of
    /// a message.
    pub fn recv_piece(&mut self, buf: &mut [u8]) -> Option<Result<Piece, Error>> {
        recv_piece(&self.shared, buf)
    }

    /// Sends a message (or a ping, pong or close) and writes it out. Blocks while the queued
    /// output is over its limit, so a peer that never reads cannot grow this side's memory.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        send(&self.shared, message, SendOptions::default())
    }

    /// Sends with per-message options, e.g. without compression for a message that mixes
    /// secrets with attacker-controlled data.
    pub fn send_with(&mut self, message: Message, options: SendOptions) -> Result<(), Error> {
        send(&self.shared, message, options)
    }

    /// Sends one fragment of a message (see [`ropeway_core::Connection::send_fragment`]) and
    /// writes it out: a message of any size streams out without being held whole.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        send_fragment(&self.shared, kind, payload, fin)
    }

    /// Sends a message encoded once for many connections (see [`PreparedMessage`]).
    pub fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), Error> {
        send_prepared(&self.shared, prepared)
    }

    /// Closes the connection: sends a close frame, then receives (and drops) whatever the
    /// peer still sends until its close frame arrives and the transport ends, or the close
    /// timeout passes.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        close(&self.shared, frame)
    }

    /// The address of the TCP peer: the server's, or the proxy's when the connection goes
    /// through one.
    pub fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.shared.peer_addr()
    }

    /// The connection's state (open, closing, closed).
    pub fn state(&self) -> State {
        self.shared.state().driver.connection().state()
    }

    /// The subprotocol the opening handshake agreed on (the server's choice among those the
    /// request offered with [`super::ClientRequest::protocol`]); `None` when none was.
    ///
    /// ```no_run
    /// use ropeway_mio::client::{self, ClientRequest};
    ///
    /// let request = ClientRequest::from_url("ws://127.0.0.1:9001/chat")?.protocol("chat.v1");
    /// let (ws, _response) = client::connect_with(request, &Default::default(), Default::default())?;
    /// if ws.protocol() != Some("chat.v1") {
    ///     eprintln!("the server speaks no chat.v1");
    /// }
    /// # Ok::<(), ropeway_mio::client::Error>(())
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.shared.protocol()
    }

    /// The extensions the opening handshake agreed on, with their parameters as the 101
    /// response named them (e.g. `permessage-deflate; server_no_context_takeover`); empty
    /// when none was.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        self.shared.extensions()
    }

    /// Splits the connection into a [`Reader`] for one thread and a cloneable [`Writer`]
    /// for others. Pings are answered by whichever thread is in a call; a reader blocked in
    /// `recv` answers them itself.
    ///
    /// The reader never holds a lock while it blocks in `read`, and never waits for a
    /// writer to send its answers: a writer blocked on a full socket (bounded by the write
    /// timeout) writes them before it lets go. A deadline the writer arms while the reader
    /// is blocked (the close timeout after [`Writer::close`]) cannot cut a `read` short, so a
    /// split reader's reads last at most 100 ms each and it looks at the deadlines in
    /// between.
    pub fn split(self) -> (Reader, Writer) {
        self.shared.set_split();
        let shared = self.shared;
        (
            Reader {
                shared: shared.clone(),
            },
            Writer { shared },
        )
    }
}

impl Reader {
    /// Receives the next message, blocking (see [`WebSocket::recv`]).
    pub fn recv(&mut self) -> Option<Result<Message, Error>> {
        recv(&self.shared)
    }

    /// Receives the next piece of a message into `buf` (see [`WebSocket::recv_piece`]).
    pub fn recv_piece(&mut self, buf: &mut [u8]) -> Option<Result<Piece, Error>> {
        recv_piece(&self.shared, buf)
    }

    /// The subprotocol the opening handshake agreed on (see [`WebSocket::protocol`]).
    pub fn protocol(&self) -> Option<&str> {
        self.shared.protocol()
    }

    /// The extensions the opening handshake agreed on (see [`WebSocket::extensions`]).
    pub fn extensions(&self) -> &[ExtensionOffer] {
        self.shared.extensions()
    }
}

impl Iterator for Reader {
    type Item = Result<Message, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.recv()
    }
}

impl Iterator for WebSocket {
    type Item = Result<Message, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.recv()
    }
}

impl Writer {
    /// Sends a message and writes it out (see [`WebSocket::send`]).
    pub fn send(&self, message: Message) -> Result<(), Error> {
        send(&self.shared, message, SendOptions::default())
    }

    /// Sends with per-message options (see [`WebSocket::send_with`]).
    pub fn send_with(&self, message: Message, options: SendOptions) -> Result<(), Error> {
        send(&self.shared, message, options)
    }

    /// Sends one fragment of a message (see [`WebSocket::send_fragment`]). Fragments of one
    /// message must come from one thread at a time.
    pub fn send_fragment(&self, kind: MessageKind, payload: &[u8], fin: bool) -> Result<(), Error> {
        send_fragment(&self.shared, kind, payload, fin)
    }

    /// Sends a message encoded once for many connections (see [`PreparedMessage`]).
    pub fn send_prepared(&self, prepared: &PreparedMessage) -> Result<(), Error> {
        send_prepared(&self.shared, prepared)
    }

    /// Starts the close handshake and writes the close frame. If no thread is receiving, it
    /// also waits for the peer's close (as [`WebSocket::close`]); otherwise the [`Reader`]
    /// sees the end: its `recv` returns `None` once the peer answered (or the close timeout
    /// passed).
    pub fn close(&self, frame: Option<CloseFrame>) -> Result<(), Error> {
        close(&self.shared, frame)
    }

    /// The subprotocol the opening handshake agreed on (see [`WebSocket::protocol`]).
    pub fn protocol(&self) -> Option<&str> {
        self.shared.protocol()
    }

    /// The extensions the opening handshake agreed on (see [`WebSocket::extensions`]).
    pub fn extensions(&self) -> &[ExtensionOffer] {
        self.shared.extensions()
    }
}

fn recv(shared: &Shared) -> Option<Result<Message, Error>> {
    let mut read = shared.read_side();
    match shared.drive(Goal::Message, Some(&mut read)) {
        Ok(next) => next.into_message(),
        Err(e) => Some(Err(e)),
    }
}

fn recv_piece(shared: &Shared, buf: &mut [u8]) -> Option<Result<Piece, Error>> {
    if buf.is_empty() {
        let e = io::Error::new(
            io::ErrorKind::InvalidInput,
            "recv_piece into an empty buffer",
        );
        return Some(Err(Error::Io(e)));
    }
    let mut read = shared.read_side();
    loop {
        if let Some(piece) = shared.state().driver.take_piece(buf) {
            return Some(Ok(piece));
        }
        match shared.drive(Goal::Piece, Some(&mut read)) {
            Err(e) => return Some(Err(e)),
            Ok(Next::Event(Event::Close(frame))) => return Some(Ok(Piece::Close(frame))),
            Ok(Next::Ended(error)) => return error.map(Err),
            Ok(_) => {}
        }
    }
}

/// Waits for room to queue a data message; fails once the connection no longer sends.
fn send_ready(shared: &Shared) -> Result<(), Error> {
    if shared.state().driver.ready_to_send() {
        return Ok(());
    }
    shared.drive(Goal::SendReady, None)?.into_send_ready()
}

fn flush(shared: &Shared) -> Result<(), Error> {
    shared.drive(Goal::Flushed, None)?.into_done()
}

fn send(shared: &Shared, message: Message, options: SendOptions) -> Result<(), Error> {
    if message.is_data() {
        send_ready(shared)?;
    }
    shared.state().driver.send(message, options)?;
    flush(shared)
}

fn send_fragment(
    shared: &Shared,
    kind: MessageKind,
    payload: &[u8],
    fin: bool,
) -> Result<(), Error> {
    send_ready(shared)?;
    shared
        .state()
        .driver
        .send_fragment(kind, payload, fin, SendOptions::default())?;
    flush(shared)
}

fn send_prepared(shared: &Shared, prepared: &PreparedMessage) -> Result<(), Error> {
    send_ready(shared)?;
    shared
        .state()
        .driver
        .send_prepared(prepared, SendOptions::default())?;
    flush(shared)
}

fn close(shared: &Shared, frame: Option<CloseFrame>) -> Result<(), Error> {
    shared.state().driver.close(frame)?;
    match shared.try_read_side() {
        // Nobody is receiving: see the handshake through here.
        Some(mut read) => shared.drive(Goal::Closed, Some(&mut read))?.into_done(),
        // The receiving thread sees the peer's answer; write the close frame out.
        None => flush(shared),
    }
}
