//! The driver: one connection's whole life above [`Connection`], decided once for every
//! runtime (tokio, smol, a mio event loop) and for HTTP/2 streams.
//!
//! [`Connection`] turns bytes into events and messages into bytes. The driver adds what a
//! runtime adapter would otherwise decide for itself: in which order to decode, write, flush,
//! wait and read; where each read goes and when buffers are given up; when reading stops
//! because the output is over its limit; what each error means for the peer (a close frame
//! to flush, or a peer already gone); and how the connection ends (a graceful shutdown or an
//! abort, the error reported once, then the end).
//!
//! # The contract
//!
//! The caller says what it waits for (a [`Goal`]) and calls [`Driver::poll`] in a loop. Each
//! call returns the next step ([`Next`]). Steps that ask for I/O are carried out and
//! answered with a `handle_*` call before polling again:
//!
//! | step | the caller does | then reports |
//! |---|---|---|
//! | [`Next::Write`] | writes [`Driver::poll_transmit_with`] (or the vectored / owned forms) | [`Driver::handle_written`], [`Driver::handle_write_blocked`], [`Driver::handle_io_error`] |
//! | [`Next::Flush`] | flushes the transport | [`Driver::handle_flushed`], `handle_write_blocked`, `handle_io_error` |
//! | [`Next::Read`] | reads into [`Driver::read_into`] | [`Driver::handle_read`] / [`Driver::handle_read_slice`] (0 bytes = end of stream), [`Driver::handle_read_blocked`], `handle_io_error` |
//! | [`Next::Timer`] | compares the deadline with the clock | [`Driver::handle_timeout`] if it passed, else arms a wake-up and reports [`Driver::handle_timer_pending`] |
//! | [`Next::Shutdown`] | shuts the transport down (gracefully or not) | [`Driver::handle_shutdown`], or `handle_write_blocked` while it is under way |
//! | [`Next::Wait`] | waits for the readiness and deadline it names | [`Driver::handle_readable`] / [`Driver::handle_writable`] (or [`Driver::handle_wakeup`]) |
//! | [`Next::Yield`] | lets other connections run (a future wakes itself and returns `Pending`) | nothing: polls again later |
//! | [`Next::Message`], [`Next::Event`], [`Next::Ready`], [`Next::Ended`] | has what it waited for | — |
//!
//! * A future calls [`Driver::handle_wakeup`] at the start of each poll (it does not know
//!   what woke it) and returns `Pending` at [`Next::Wait`]: every blocked operation and the
//!   timer registered its waker on the way there.
//! * An event loop with edge-triggered readiness reports readiness as it arrives and keeps
//!   the deadline of [`Next::Wait`] in its timer heap.
//! * An HTTP/2 stream writes owned buffers ([`Driver::take_transmit`]), reports a stream
//!   without send window as write-blocked, and feeds received DATA to
//!   [`Driver::handle_read_slice`].
//!
//! Sending ([`Driver::send`], [`Driver::send_fragment`], [`Driver::close`]) only queues;
//! [`Goal::SendReady`] before it waits for room, [`Goal::Flushed`] after it writes it out.
//!
//! ```
//! use std::time::Instant;
//! use ropeway_core::driver::{Driver, Goal, Next};
//! use ropeway_core::{BytesMut, Config, Connection, Message};
//!
//! let conn = Connection::server(Config::default(), Instant::now());
//! // A masked text frame "Hello" from a client (RFC 6455 §5.7), already read.
//! let input = BytesMut::from(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58][..]);
//! let mut driver = Driver::new(conn, input, 4096);
//! let Next::Message(message) = driver.poll(Goal::Message) else { panic!() };
//! assert_eq!(message, Message::text("Hello"));
//! driver.send(message, Default::default()).unwrap();
//! assert!(matches!(driver.poll(Goal::Flushed), Next::Write));
//! let written = driver.poll_transmit_with(Instant::now).len();
//! driver.handle_written(written);
//! assert!(matches!(driver.poll(Goal::Flushed), Next::Flush));
//! driver.handle_flushed();
//! assert!(matches!(driver.poll(Goal::Flushed), Next::Ready));
//! ```

mod carve;
mod ending;
mod error;
mod flags;
mod next;
mod read;
mod spare;
mod split;
mod step;

pub use self::error::{Error, TlsError, TlsErrorKind};
pub use self::next::{Goal, Next, Piece, ReadInto};
pub use self::read::READ_SCRATCH;
pub use self::split::{Forward, SplitPolicy};
pub use self::step::{
    BufferRead, FlushStep, ScratchRead, Sent, ShutdownStep, Step, TimerStep, Wait, WriteStep,
};

use std::io::{self, IoSlice};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::budget::Account;
use crate::close::CloseFrame;
use crate::connection::{Connection, PreparedMessage, SendOptions};
use crate::error::{ConnectionError, ProtocolError};
use crate::event::{Data, Event, MessageKind};
use crate::message::{Assembler, Message};

use self::flags::Flags;
use self::read::Reader;

/// Where the connection is in its life, as the driver sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading, decoding, writing.
    Running,
    /// An error ended it: the close frame answering it (if any, and if the peer is still
    /// there) is written first.
    Failing,
    /// The close frame is out: shut the write side down, so the peer reads it and its end.
    Closing,
    /// Read and drop what the peer still sends (bounded in bytes and by the close timeout),
    /// so closing the transport with unread input does not reset the connection before the
    /// peer has read the close frame.
    Draining,
    /// Writing failed: what the peer sent before it went is still read and handed out (its
    /// close frame, with the reason it closed), until reading would block or fails.
    Salvaging,
    /// Report the error that ended the connection, once.
    Reporting,
    /// Shut the transport down (gracefully after a close handshake, an abort otherwise).
    ShuttingDown,
    /// Nothing more will happen.
    Ended,
}

/// An event the driver holds between polls.
#[derive(Debug)]
enum Slot {
    /// A piece of a message handed out partly by [`Driver::take_piece`].
    Piece(Data),
    /// A ping or close held back until the answer the core queued for it is written.
    Held(Event),
}

/// One WebSocket connection's driver: the [`Connection`], its read buffer and policy, the
/// message assembler and the end of its life. See the [module docs](self) for the contract.
pub struct Driver {
    conn: Connection,
    reader: Reader,
    assembler: Assembler,
    /// An event waiting to be handed out. Boxed, like the other rare slots: every idle
    /// connection carries this struct.
    slot: Option<Box<Slot>>,
    /// How the connection ends, once it does: boxed, as every live connection carries the
    /// slot.
    ending: Option<Box<ending::Ending>>,
    phase: Phase,
    flags: Flags,
    /// The connection's timer epoch when the caller last armed a wake-up for its deadline.
    timer_epoch: u8,
    /// Work left before the connection must let others run: events handed out and reads
    /// count it down from [`Config::work_budget`](crate::Config::work_budget); at 0 the
    /// driver says [`Next::Yield`]. Refilled whenever the connection waits for input.
    work_left: u16,
    /// The server's memory budget and what this connection charged it (boxed: most
    /// connections have none, and every idle one carries the slot).
    account: Option<Box<Account>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("conn", &self.conn)
            .field("phase", &self.phase)
            .field("buffered", &self.reader.buf.len())
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// Drives `conn`, whose opening handshake is done. `buffered` holds bytes read past the
    /// handshake (the first frames), decoded first; reads are `read_buffer_size` at a time.
    pub fn new(mut conn: Connection, buffered: BytesMut, read_buffer_size: usize) -> Self {
        let work_left = conn.config().work_budget.max(1);
        let account = conn
            .take_memory_budget()
            .map(|budget| Box::new(Account::new(budget)));
        Driver {
            conn,
            reader: Reader::new(buffered, read_buffer_size),
            assembler: Assembler::new(),
            slot: None,
            ending: None,
            phase: Phase::Running,
            flags: Flags::default(),
            timer_epoch: 0,
            work_left,
            account,
        }
    }

    /// The protocol core: state, settings, negotiated extension.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Whether the connection has ended (or is ending): nothing more can be sent.
    pub fn is_ended(&self) -> bool {
        self.phase != Phase::Running
    }

    /// Whether a data message can be queued right now ([`Goal::SendReady`] would be reached
    /// without a step): a cheap check before driving towards it.
    #[inline]
    pub fn ready_to_send(&self) -> bool {
        self.phase == Phase::Running && self.conn.can_send()
    }

    /// The next step towards `goal`, answered through the step itself (see [`Step`]): the
    /// typed form of [`Driver::poll`], and the one to use.
    #[inline]
    pub fn step(&mut self, goal: Goal) -> Step<'_> {
        let next = self.poll(goal);
        Step::from_next(self, goal, next)
    }

    /// [`Driver::step`] for a future being polled: it does not know what woke it, so
    /// everything blocked is retried.
    #[inline]
    pub fn step_woken(&mut self, goal: Goal) -> Step<'_> {
        self.handle_wakeup();
        self.step(goal)
    }

    /// Sends a message and hands out the first step towards writing it out, for a future
    /// being polled (everything blocked is retried, as in [`Driver::step_woken`]): the
    /// common send path in one call. When the output is over its limit (or the connection
    /// no longer sends) the message comes back unqueued; fails with a usage error.
    pub fn send_flushing(
        &mut self,
        message: Message,
        options: SendOptions,
    ) -> Result<Sent<'_>, Error> {
        if !self.ready_to_send() {
            return Ok(Sent::NotReady(message));
        }
        self.send(message, options)?;
        Ok(Sent::Queued(self.step_woken(Goal::Flushed)))
    }

    /// Whether the next read goes into the caller's scratch ([`Step::ReadScratch`]).
    fn reads_into_scratch(&self) -> bool {
        self.reader.wants_scratch()
    }

    /// The read buffer, with room made for the next read ([`Step::ReadBuffer`]).
    fn buffer_for_read(&mut self) -> &mut BytesMut {
        let rest = self.conn.read_hint(self.reader.buf.len());
        self.reader.buffer_for_read(rest, self.flags.partial())
    }

    /// What a wait for `goal` waits for (readable, writable), said without looking for
    /// other work (the caller just found the read blocked after everything else was done).
    #[inline]
    fn wait_flags(&self, goal: Goal) -> (bool, bool) {
        let queued = self.conn.queued_output();
        (
            self.wants_read(goal, queued) && self.flags.read_blocked(),
            self.flags.write_blocked() && (queued > 0 || self.flags.flush_needed()),
        )
    }

    /// Whether the connection is running (not ending).
    #[inline]
    fn phase_is_running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// A flush is handed out as the next step (what `poll` does before [`Next::Flush`]).
    #[inline]
    fn begin_flush(&mut self) {
        self.flags.set_writing(true);
    }

    /// The deadline a wait wakes up at.
    #[inline]
    fn deadline(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// The next step towards `goal`, untyped: the caller answers with the matching
    /// `handle_*` call. Prefer [`Driver::step`], whose steps carry their answers; this is
    /// for a caller that cannot keep the driver borrowed while it does the I/O (ropeway's
    /// blocking client lets go of its lock while it blocks in `read`, so that another thread
    /// can send) and for fuzzing the contract.
    pub fn poll(&mut self, goal: Goal) -> Next {
        self.flags.set_partial(goal == Goal::Piece);
        if self.account.is_some() {
            self.settle_budget();
        }
        if self.phase == Phase::Running {
            return self.poll_running(goal);
        }
        self.poll_ending(goal)
    }

    /// The phases after the connection stopped running, each until it has a step to ask for.
    /// Out of line: the running loop is the hot path, and stays small without it.
    #[cold]
    #[inline(never)]
    fn poll_ending(&mut self, goal: Goal) -> Next {
        loop {
            let next = match self.phase {
                Phase::Running => return self.poll_running(goal),
                Phase::Failing => self.poll_failing(goal),
                Phase::Closing | Phase::ShuttingDown => self.poll_shutdown(goal),
                Phase::Draining => self.poll_draining(goal),
                Phase::Salvaging => self.poll_salvaging(goal),
                Phase::Reporting => self.poll_reporting(goal),
                Phase::Ended => return Next::Ended(None),
            };
            if let Some(next) = next {
                return next;
            }
        }
    }

    /// While running: decode, write, flush, then the goal, the end of a clean close, the
    /// timer, a read, or wait.
    fn poll_running(&mut self, goal: Goal) -> Next {
        if self.work_left == 0 && goal.receives() {
            self.work_left = self.conn.config().work_budget.max(1);
            return Next::Yield;
        }
        loop {
            if let Some(error) = self.conn.error() {
                // A timer ended it (dead peer, close timeout), or decoding did earlier.
                self.begin_ending(Error::Connection(error.clone()));
                return self.poll_ending(goal);
            }
            if goal.receives() && !self.flags.app_behind() {
                match self.slot.as_deref() {
                    Some(Slot::Piece(_)) if goal == Goal::Piece => return Next::Ready,
                    Some(Slot::Held(_)) => {
                        if self.conn.queued_output() == 0 || self.flags.write_blocked() {
                            // Its answer is out (or cannot go out now): hand it out.
                            if let Some(Slot::Held(held)) = self.slot.take().map(|slot| *slot)
                                && let Some(next) = self.deliver(goal, held)
                            {
                                self.work_left = self.work_left.saturating_sub(1);
                                return next;
                            }
                            continue;
                        }
                    }
                    _ => {
                        // The end of stream, with nothing left to decode, fails the
                        // connection and drops its output: what is queued (answers to what
                        // was read before it, which a caller may have put off writing) goes
                        // out first.
                        let at_eof = self.reader.buf.is_empty() && self.flags.eof();
                        if at_eof && self.conn.queued_output() > 0 && !self.flags.write_blocked() {
                            self.flags.set_write_later(false);
                        // An empty buffer holds nothing to decode (until the end of stream,
                        // which the decoder turns into its error).
                        } else if !self.reader.buf.is_empty() || self.flags.eof() {
                            match self.decode(goal) {
                                Ok(Some(event)) => {
                                    if matches!(event, Event::Ping(_) | Event::Close(_))
                                        && self.conn.queued_output() > 0
                                        && !self.flags.write_blocked()
                                    {
                                        // Answer now if the transport takes it, then hand
                                        // the event out.
                                        self.slot = Some(Box::new(Slot::Held(event)));
                                    } else if let Some(next) = self.deliver(goal, event) {
                                        self.work_left = self.work_left.saturating_sub(1);
                                        return next;
                                    }
                                    continue;
                                }
                                Ok(None) => {}
                                Err(error) => {
                                    self.begin_ending(Error::Connection(error));
                                    return self.poll_ending(goal);
                                }
                            }
                        }
                    }
                }
            }
            let queued = self.conn.queued_output();
            if !self.flags.write_blocked() && !self.flags.write_later() {
                if queued > 0 {
                    self.flags.set_writing(true);
                    return Next::Write;
                }
                if self.flags.flush_needed() {
                    self.flags.set_writing(true);
                    return Next::Flush;
                }
            }
            match goal {
                Goal::SendReady if self.conn.can_send() => return Next::Ready,
                // Closing or closed: the sender learns that nothing more can be sent.
                Goal::SendReady if !self.conn.state().can_send() => return Next::Ended(None),
                Goal::Flushed if queued == 0 && !self.flags.flush_needed() => return Next::Ready,
                _ => {}
            }
            if queued == 0 && self.conn.is_terminated() {
                // The close handshake is complete (or the client's wait for the server's end).
                self.phase = Phase::ShuttingDown;
                return self.poll_ending(goal);
            }
            if let Some(next) = self.poll_timer() {
                return next;
            }
            if self.wants_read(goal, queued) && !self.flags.read_blocked() {
                if self.account.is_some() && !self.budget_allows_read() {
                    // Fails the connection (1013); the next turn of the loop ends it.
                    continue;
                }
                self.flags.set_writing(false);
                return Next::Read;
            }
            return self.wait(goal);
        }
    }

    /// Bytes this connection buffers: the read buffer (its capacity: a large frame's room
    /// is reserved as its header arrives), the message being assembled, the queued output.
    fn held(&self) -> usize {
        self.reader.buf.capacity() + self.assembler.buffered() + self.conn.queued_output()
    }

    /// Charges the memory budget with what the connection buffers now.
    #[cold]
    fn settle_budget(&mut self) {
        let held = self.held();
        if let Some(account) = self.account.as_deref_mut() {
            account.settle(held);
        }
    }

    /// Whether the next read may grow the buffers as it needs to; if not (the budget is
    /// spent and the connection would go past its share), fails the connection with 1013.
    #[cold]
    fn budget_allows_read(&mut self) -> bool {
        self.settle_budget();
        let more = {
            let rest = self.conn.read_hint(self.reader.buf.len());
            self.reader.growth_for_read(rest, self.flags.partial())
        };
        let Some(account) = self.account.as_deref() else {
            return true;
        };
        let budget = account.budget();
        if budget.allows(account.charged(), more) {
            return true;
        }
        budget.refused();
        let limit = budget.limit();
        self.conn.refuse(ProtocolError::OverBudget { limit });
        false
    }

    /// Decodes the next event from what is buffered.
    fn decode(&mut self, goal: Goal) -> Result<Option<Event>, ConnectionError> {
        if goal == Goal::Piece {
            self.conn.recv_partial(&mut self.reader.buf)
        } else {
            self.conn.recv(&mut self.reader.buf)
        }
    }

    /// Hands an event out in the form `goal` asks for; `None` when it completes nothing yet.
    fn deliver(&mut self, goal: Goal, event: Event) -> Option<Next> {
        match goal {
            Goal::Message => self.assembler.push(event).map(Next::Message),
            Goal::Piece => match event {
                Event::Data(data) => {
                    self.slot = Some(Box::new(Slot::Piece(data)));
                    Some(Next::Ready)
                }
                Event::Close(_) => Some(Next::Event(event)),
                Event::Ping(_) | Event::Pong(_) => None,
            },
            Goal::Closed => None,
            _ => Some(Next::Event(event)),
        }
    }

    /// Whether a read would help `goal`: it receives, the stream has not ended, the
    /// application keeps up, and the output is within its limit. Reading stops while the
    /// output is over its limit, so a peer that sends without reading is slowed by TCP
    /// instead of growing this side's memory with answers it does not read.
    fn wants_read(&self, goal: Goal, queued: usize) -> bool {
        // Reading goes on after the close frames (input is then dropped): a client learns
        // that the handshake is over from the server's end of stream.
        goal.receives()
            && !self.flags.eof()
            && !self.flags.app_behind()
            && queued <= self.conn.config().limits.max_queued_output
            // A ping or close held until its answer is written stops decoding: reading on
            // (an event loop that put its writes off to the end of the turn) would pile up
            // input that nothing decodes, copied again by every read that grows the buffer.
            && !matches!(self.slot.as_deref(), Some(Slot::Held(_)))
    }

    /// Announces an armed deadline the caller has not armed a wake-up for.
    fn poll_timer(&mut self) -> Option<Next> {
        if self.timer_epoch == self.conn.timer_epoch()
            && (self.flags.timer_announced() || self.flags.no_deadline())
        {
            // Nothing moved since the caller last looked (or there is no deadline at all).
            return None;
        }
        self.timer_epoch = self.conn.timer_epoch();
        let Some(deadline) = self.conn.poll_timeout() else {
            self.flags.set_no_deadline(true);
            return None;
        };
        self.flags.set_no_deadline(false);
        Some(Next::Timer(deadline))
    }

    fn wait(&mut self, goal: Goal) -> Next {
        let (read, write) = self.wait_flags(goal);
        Next::Wait {
            read,
            write,
            deadline: self.conn.poll_timeout(),
        }
    }

    // ----------------------------------------------------------------- sending

    /// Queues a message (or a ping, pong or close) without writing it. A large payload held
    /// as `Bytes` is queued by reference, not copied. Fails with a usage error (nothing
    /// queued), or [`Error::Closed`] once the connection has ended.
    pub fn send(&mut self, message: Message, options: SendOptions) -> Result<(), Error> {
        if self.phase != Phase::Running && !matches!(message, Message::Close(_)) {
            return Err(Error::Closed);
        }
        spare::lend_to(&mut self.conn);
        match message {
            Message::Text(text) => {
                self.conn
                    .send_bytes_with(MessageKind::Text, text.into_bytes(), options)?
            }
            Message::Binary(bytes) => {
                self.conn
                    .send_bytes_with(MessageKind::Binary, bytes, options)?
            }
            Message::Ping(p) => self.conn.ping(&p)?,
            Message::Pong(p) => self.conn.pong(&p)?,
            Message::Close(frame) => self.conn.close(frame)?,
        }
        Ok(())
    }

    /// Queues a prepared message, encoded once for many connections (see
    /// [`Connection::send_prepared`]).
    pub fn send_prepared(
        &mut self,
        prepared: &PreparedMessage,
        options: SendOptions,
    ) -> Result<(), Error> {
        if self.phase != Phase::Running {
            return Err(Error::Closed);
        }
        spare::lend_to(&mut self.conn);
        Ok(self.conn.send_prepared(prepared, options)?)
    }

    /// Queues one fragment of a message (see [`Connection::send_fragment_with`]).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
        options: SendOptions,
    ) -> Result<(), Error> {
        if self.phase != Phase::Running {
            return Err(Error::Closed);
        }
        spare::lend_to(&mut self.conn);
        Ok(self.conn.send_fragment_with(kind, payload, fin, options)?)
    }

    /// Starts the close handshake (see [`Connection::close`]); [`Goal::Closed`] sees it
    /// through.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        Ok(self.conn.close(frame)?)
    }

    /// Starts the close handshake, or shortens one under way, so that it ends by `deadline`
    /// (see [`Connection::close_by`]): a server shutting down gives every connection one
    /// deadline, and past it the driver's close timeout path ends the connection.
    pub fn close_by(&mut self, frame: Option<CloseFrame>, deadline: Instant) -> Result<(), Error> {
        Ok(self.conn.close_by(frame, deadline)?)
    }

    /// Input: nobody can use the connection any more (every handle dropped): it is closed
    /// normally (1000) rather than left to the peer's timeouts.
    pub fn handle_abandoned(&mut self) {
        spare::lend_to(&mut self.conn);
        let _ = self.conn.close(Some(CloseFrame::new(1000, "")));
    }

    // ----------------------------------------------------------------- output

    /// Output for [`Next::Write`]: the bytes to write, reading the time from `clock` only
    /// when a timer starts (a keep-alive ping or close frame is handed over).
    pub fn poll_transmit_with(&mut self, clock: impl FnOnce() -> Instant) -> &[u8] {
        self.conn.poll_transmit_with(clock)
    }

    /// Output for [`Next::Write`], for a vectored write: fills `slices`, returns how many.
    pub fn poll_transmit_vectored<'a>(
        &'a mut self,
        clock: impl FnOnce() -> Instant,
        slices: &mut [IoSlice<'a>],
    ) -> usize {
        self.conn.poll_transmit_vectored_with(clock, slices)
    }

    /// Whether all queued output is in one buffer, so a plain write takes all of it.
    pub fn transmit_is_contiguous(&self) -> bool {
        self.conn.transmit_is_contiguous()
    }

    /// Output for [`Next::Write`] as one owned buffer (an HTTP/2 stream, a channel); counts
    /// as written.
    pub fn take_transmit(&mut self, now: Instant) -> Bytes {
        let bytes = self.conn.take_transmit(now);
        self.flags
            .set_flush_needed(self.flags.flush_needed() || !bytes.is_empty());
        bytes
    }

    // ----------------------------------------------------------------- input

    /// Where the next read goes (see [`ReadInto`]).
    pub fn read_into(&mut self) -> ReadInto<'_> {
        let rest = self.conn.read_hint(self.reader.buf.len());
        self.reader.read_into(rest, self.flags.partial())
    }

    /// Input: `n` bytes were read into [`ReadInto::Buffer`]; 0 is the end of the stream.
    pub fn handle_read(&mut self, n: usize) {
        self.reader.filled(n);
        if n == 0 {
            self.handle_eof();
        } else if self.phase == Phase::Draining {
            self.drop_drained(n);
        } else {
            self.work_left = self.work_left.saturating_sub(1);
            self.conn.handle_bytes_received();
        }
    }

    /// Input: bytes read into the caller's scratch (or received as an HTTP/2 DATA frame);
    /// empty is the end of the stream.
    pub fn handle_read_slice(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            self.handle_eof();
        } else if self.phase == Phase::Draining {
            self.drop_drained(bytes.len());
        } else {
            self.work_left = self.work_left.saturating_sub(1);
            self.conn.handle_bytes_received();
            self.reader.filled_from(bytes);
        }
    }

    fn handle_eof(&mut self) {
        self.flags.set_eof(true);
        self.conn.handle_eof();
    }

    /// Input: the read found nothing (would block, `Pending`). While nothing is buffered the
    /// connection gives its buffers up: an idle connection holds none (its output buffer goes
    /// to the thread's spare, for the next reply on this thread).
    ///
    /// Returns whether the next poll would only say [`Next::Wait`] (everything else was done
    /// before the read was asked for), so a caller may wait at once.
    pub fn handle_read_blocked(&mut self) -> bool {
        self.flags.set_read_blocked(true);
        self.work_left = self.conn.config().work_budget.max(1);
        if self.reader.buf.is_empty() {
            self.reader.release_if_empty();
            spare::keep_from(&mut self.conn);
            self.conn.shrink_buffers();
        }
        matches!(self.phase, Phase::Running | Phase::Draining)
    }

    /// Input: `n` bytes of the output were written. Writing nothing is an error (`WriteZero`).
    ///
    /// Returns whether to flush now, in the same turn: everything queued is written. (A
    /// caller that does flushes and reports [`Driver::handle_flushed`]; one that does not
    /// gets a [`Next::Flush`] step instead.)
    pub fn handle_written(&mut self, n: usize) -> bool {
        if n == 0 {
            self.handle_io_error(io::ErrorKind::WriteZero.into());
            return false;
        }
        self.conn.advance_transmit(n);
        self.flags.set_flush_needed(true);
        self.conn.queued_output() == 0
    }

    /// Input: the write, flush or shutdown could not proceed at `now` (would block,
    /// `Pending`, no HTTP/2 send window). Starts the write stall timer.
    pub fn handle_write_blocked(&mut self, now: Instant) {
        self.flags.set_write_blocked(true);
        self.conn.handle_write_blocked(now);
    }

    /// Input: the flush completed.
    pub fn handle_flushed(&mut self) {
        self.flags.set_flush_needed(false);
    }

    /// Input: the transport failed. The peer is taken as gone: nothing more is written.
    pub fn handle_io_error(&mut self, error: io::Error) {
        let held = matches!(self.slot.as_deref(), Some(Slot::Held(_)));
        if self.phase == Phase::Running
            && self.flags.writing()
            && (self.conn.state().can_receive() || held)
        {
            // A peer that closed (or reset) while this end was still sending may have sent a
            // close frame first (an upload over its limit gets 1009): read what arrived
            // before reporting the write error.
            self.begin_ending(Error::Io(error));
            self.phase = Phase::Salvaging;
        } else if self.phase == Phase::Running {
            self.begin_ending(Error::Io(error));
        } else {
            // An error while ending only means the peer went away too; the first stands.
            self.flags.set_peer_gone(true);
            if self.phase == Phase::Salvaging {
                self.phase = Phase::Reporting;
            }
        }
    }

    /// Input: the transport was shut down (or the attempt is over).
    pub fn handle_shutdown(&mut self) {
        self.flags.set_write_blocked(false);
        if self.phase == Phase::Closing {
            self.phase = Phase::Draining;
            return;
        }
        self.phase = Phase::Ended;
        self.reader.release();
        self.slot = None;
    }

    /// Input: the deadline of [`Next::Timer`] passed at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.flags.set_timer_announced(false);
        self.conn.handle_timeout(now);
    }

    /// Input: the caller armed a wake-up for the deadline of [`Next::Timer`].
    pub fn handle_timer_pending(&mut self) {
        self.flags.set_timer_announced(true);
        self.timer_epoch = self.conn.timer_epoch();
    }

    /// Input: the transport may be readable.
    pub fn handle_readable(&mut self) {
        self.flags.set_read_blocked(false);
    }

    /// Input: the caller writes now (an event loop's end of turn), after
    /// [`WriteStep::later`](step::WriteStep::later) put the writes off.
    #[inline]
    pub fn handle_write_turn(&mut self) {
        self.flags.set_write_later(false);
    }

    /// Input: the transport is writable again (after a blocked write or flush).
    pub fn handle_writable(&mut self) {
        self.flags.set_write_blocked(false);
    }

    /// Input: woken for an unknown reason (a future being polled): retry everything.
    pub fn handle_wakeup(&mut self) {
        self.flags.set_read_blocked(false);
        self.flags.set_write_blocked(false);
        self.flags.set_timer_announced(false);
    }

    /// Input: whether the application is behind (a split read half whose queue is full).
    /// While it is, nothing is decoded or read.
    pub fn handle_app_behind(&mut self, behind: bool) {
        self.flags.set_app_behind(behind);
    }

    // ----------------------------------------------------------------- pieces

    /// Whether [`Goal::Message`] is in the middle of joining a message: a caller that
    /// switches between messages and pieces (a split read half) switches only between
    /// messages.
    pub fn is_mid_message(&self) -> bool {
        self.assembler.is_assembling()
    }

    /// Takes the whole piece [`Goal::Piece`] made ready, without copying: for a caller that
    /// hands pieces to another task (a split connection's read half). `None` when no piece
    /// is ready.
    pub fn take_piece_data(&mut self) -> Option<Data> {
        if !matches!(self.slot.as_deref(), Some(Slot::Piece(_))) {
            return None;
        }
        match self.slot.take().map(|slot| *slot) {
            Some(Slot::Piece(data)) => Some(data),
            _ => None,
        }
    }

    /// Takes the next part of the piece [`Goal::Piece`] made ready, copying as much as fits
    /// into `buf`; `None` when no piece is ready (poll again).
    pub fn take_piece(&mut self, buf: &mut [u8]) -> Option<Piece> {
        let Some(Slot::Piece(data)) = self.slot.as_deref_mut() else {
            return None;
        };
        let len = data.payload.len().min(buf.len());
        buf[..len].copy_from_slice(&data.payload[..len]);
        let _ = data.payload.split_to(len);
        let done = data.payload.is_empty();
        let end_of_message = done && data.message_end;
        let kind = data.kind;
        if done {
            self.slot = None;
        }
        (len > 0 || end_of_message).then_some(Piece::Data {
            kind,
            len,
            end_of_message,
        })
    }
}
