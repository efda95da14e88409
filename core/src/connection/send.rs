//! Output: encoding messages and control frames into the outgoing byte queue.

use std::io::IoSlice;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use super::chunks::ChunkQueue;
use super::prepared::PreparedMessage;

use super::Connection;
use crate::close::{CloseCode, CloseFrame, encode_close_payload};
use crate::entropy::Entropy;
use crate::error::{ProtocolError, UsageError};
use crate::event::MessageKind;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::state::State;
use crate::timer::Timer;

/// An empty output queue keeps its allocation up to this size; a larger one is released so
/// an idle connection holds no large buffer.
const IDLE_OUTPUT_CAPACITY: usize = 16 << 10;

/// Unmasked payloads at least this large are queued by reference instead of copied: the
/// transport writes them with one vectored write after their header.
const SHARED_PAYLOAD_MIN: usize = 8 << 10;

/// Prepared frames at least this large are queued by reference on a connection with nothing
/// of its own in its output buffer. Below it a copy is cheaper: callgrind, 1,000 subscribers
/// on the mio loop, instructions per delivery: 20 B copied 291, by reference 487; 512 B
/// copied 736 (buffer allocation and growth), by reference 405.
const SHARED_PREPARED_MIN: usize = 256;

/// Per-message choices for [`Connection::send_with`].
///
/// ```
/// use std::time::Instant;
/// use ropeway_core::{Config, Connection, MessageKind, SendOptions};
///
/// let now = Instant::now();
/// let mut conn = Connection::server(Config::default(), now);
/// // A token next to attacker-chosen text: never compressed, even on a compressing connection.
/// conn.send_bytes_with(MessageKind::Text, "token=s3cret".into(), SendOptions { compress: false })
///     .unwrap();
/// assert_eq!(&conn.poll_transmit(now)[2..], b"token=s3cret");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendOptions {
    /// Let the negotiated extension (permessage-deflate) transform this message. Turn it off
    /// for a message that puts secrets next to attacker-controlled data: compressing them
    /// together leaks the secret through the compressed size (CRIME/BREACH). Default on.
    pub compress: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions { compress: true }
    }
}

/// Encoding state: the output queue and what waits to go into it.
pub(super) struct Encoder {
    /// Output queued ahead of `out`, in order: headers and payloads sent without copying.
    chunks: ChunkQueue,
    /// Encoded frames not yet handed to the transport, after `chunks`.
    out: BytesMut,
    /// Masking keys for a client; `None` for a server.
    entropy: Option<Box<dyn Entropy>>,
    /// The payload of the pong owed for the latest ping: answering the latest suffices.
    /// Boxed: pings are rare next to the connection's lifetime of carrying the slot.
    pong: Option<Box<Bytes>>,
    /// A keep-alive ping is queued; its timeout starts when it is handed to the transport.
    keep_alive_ping: bool,
    /// A close frame is queued; the close timeout starts when it is handed to the transport.
    close_pending: bool,
    /// The fragmented message being sent: its kind, and whether the extension transforms it.
    sending: Option<(MessageKind, bool)>,
}

impl Encoder {
    pub(super) fn new(entropy: Option<Box<dyn Entropy>>) -> Self {
        Encoder {
            chunks: ChunkQueue::default(),
            out: BytesMut::new(),
            entropy,
            pong: None,
            keep_alive_ping: false,
            close_pending: false,
            sending: None,
        }
    }

    pub(super) fn queued(&self) -> usize {
        self.chunks.len() + self.out.len() + self.pong.as_ref().map_or(0, |p| 2 + p.len())
    }

    /// Appends a whole encoded frame shared with other connections: by reference when
    /// nothing of this connection's own waits in `out` and the frame is not tiny (a
    /// broadcast's subscriber: no output buffer to allocate and grow per member, and the
    /// transport writes the shared frames with one vectored write), or when it is large;
    /// otherwise copied, when copying costs less than queueing a reference.
    fn write_prepared(&mut self, frame: &Bytes) {
        if self.out.is_empty() && frame.len() >= SHARED_PREPARED_MIN {
            // Behind everything queued by reference so far, so still in order.
            self.chunks.push(frame.clone());
        } else if frame.len() >= SHARED_PAYLOAD_MIN {
            // Everything queued so far goes ahead of it, in order.
            self.chunks.push(self.out.split().freeze());
            self.chunks.push(frame.clone());
        } else {
            self.out.extend_from_slice(frame);
        }
    }

    /// Appends an unmasked frame whose payload is queued by reference, not copied.
    fn write_shared_frame(&mut self, opcode: OpCode, payload: Bytes) {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.out.extend_from_slice(&head[..head_len]);
        // Everything queued so far goes ahead of the payload, in order.
        self.chunks.push(self.out.split().freeze());
        self.chunks.push(payload);
    }

    /// Takes `n` transmitted bytes off the front of the queue.
    fn advance(&mut self, n: usize) {
        let rest = self.chunks.advance(n);
        if rest >= self.out.len() {
            // All of it written (the usual case): keep the buffer's whole capacity for the
            // next frames instead of moving its start past what was written.
            self.out.clear();
        } else {
            self.out.advance(rest);
        }
    }

    pub(super) fn set_pong(&mut self, payload: Bytes) {
        match &mut self.pong {
            Some(owed) => **owed = payload,
            None => self.pong = Some(Box::new(payload)),
        }
    }

    pub(super) fn queue_keep_alive_ping(&mut self) {
        self.write_frame(OpCode::Ping, true, 0, &[]);
        self.keep_alive_ping = true;
    }

    pub(super) fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = [0; MAX_CONTROL_PAYLOAD];
        let len = encode_close_payload(frame, &mut payload);
        // No pong may follow a close frame.
        self.flush_pong();
        self.pong = None;
        self.write_frame(OpCode::Close, true, 0, &payload[..len]);
        self.close_pending = true;
    }

    pub(super) fn queue_failure_close(&mut self, code: CloseCode, error: &ProtocolError) {
        // The reason helps whoever debugs the peer; cut it at a char boundary to fit.
        let mut reason = error.to_string();
        let mut cut = reason.len().min(CloseFrame::MAX_REASON_LEN);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        self.queue_close(Some(&CloseFrame { code, reason }));
    }

    fn flush_pong(&mut self) {
        if let Some(payload) = self.pong.take() {
            self.write_frame(OpCode::Pong, true, 0, &payload);
        }
    }

    /// Appends one frame: the header built in a `[u8; 14]`, the payload copied once and
    /// masked in place.
    fn write_frame(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        let mask = self.entropy.as_mut().map(|entropy| {
            let mut key = [0; 4];
            entropy.fill(&mut key);
            key
        });
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.out.reserve(head_len + payload.len());
        self.out.extend_from_slice(&head[..head_len]);
        let start = self.out.len();
        self.out.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut self.out[start..], key);
        }
    }
}

impl Connection {
    /// Queues a whole text or binary message, transformed by the negotiated extension if it
    /// asks to. Text must be valid UTF-8: pass a `&str`'s bytes.
    pub fn send(&mut self, kind: MessageKind, payload: &[u8]) -> Result<(), UsageError> {
        self.send_with(kind, payload, SendOptions::default())
    }

    /// Queues a whole message the application holds as `Bytes` (a received payload being
    /// echoed, a shared broadcast). A server sends a large, untransformed payload without
    /// copying it: the transport writes it straight from `payload`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{Bytes, Config, Connection, MessageKind};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(Config::default(), now);
    /// let large = Bytes::from(vec![0u8; 64 << 10]);
    /// conn.send_bytes(MessageKind::Binary, large.clone()).unwrap(); // queued by reference
    /// assert_eq!(conn.queued_output(), 10 + large.len()); // 10-byte header for 64 KiB
    /// ```
    pub fn send_bytes(&mut self, kind: MessageKind, payload: Bytes) -> Result<(), UsageError> {
        self.send_bytes_with(kind, payload, SendOptions::default())
    }

    /// [`Connection::send_bytes`] with per-message options.
    pub fn send_bytes_with(
        &mut self,
        kind: MessageKind,
        payload: Bytes,
        options: SendOptions,
    ) -> Result<(), UsageError> {
        let unmasked = self.encoder.entropy.is_none();
        if !unmasked || payload.len() < SHARED_PAYLOAD_MIN {
            return self.send_with(kind, &payload, options);
        }
        self.check_can_send_data()?;
        if self.encoder.sending.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        match self.encode_start(kind, Some(payload.len()), options) {
            Some(rsv) => self.write_data(kind_opcode(kind), true, Some(rsv), &payload),
            None => self.encoder.write_shared_frame(kind_opcode(kind), payload),
        }
        Ok(())
    }

    /// Queues a prepared message: the frame encoded once, shared with every other connection
    /// it is queued on. A client (whose frames are masked with keys of its own) and a
    /// connection whose extension transforms the message encode it here from the payload.
    pub fn send_prepared(
        &mut self,
        prepared: &PreparedMessage,
        options: SendOptions,
    ) -> Result<(), UsageError> {
        let (kind, payload) = (prepared.kind(), prepared.payload());
        if self.encoder.entropy.is_some() {
            return self.send_with(kind, payload, options);
        }
        self.check_can_send_data()?;
        if self.encoder.sending.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        match self.encode_start(kind, Some(payload.len()), options) {
            Some(rsv) => self.write_data(kind_opcode(kind), true, Some(rsv), payload),
            None => self.encoder.write_prepared(prepared.frame()),
        }
        Ok(())
    }

    /// Queues a whole message with per-message options (e.g. without compression).
    pub fn send_with(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        options: SendOptions,
    ) -> Result<(), UsageError> {
        self.check_can_send_data()?;
        if self.encoder.sending.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        let rsv = self.encode_start(kind, Some(payload.len()), options);
        self.write_data(kind_opcode(kind), true, rsv, payload);
        Ok(())
    }

    /// Queues one fragment of a message: the first call for a message starts it with `kind`,
    /// later calls continue it (with the same `kind`), and `fin` ends it. Control frames may
    /// be sent between fragments.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{Config, Connection, MessageKind};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(Config::default(), now);
    /// conn.send_fragment(MessageKind::Binary, b"first ", false).unwrap();
    /// conn.ping(b"between fragments").unwrap(); // control frames may interleave
    /// conn.send_fragment(MessageKind::Binary, b"last", true).unwrap();
    /// let out = conn.poll_transmit(now);
    /// assert_eq!(out[0], 0x02); // binary, FIN clear
    /// assert_eq!(out[8], 0x89); // the ping, FIN set
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), UsageError> {
        self.send_fragment_with(kind, payload, fin, SendOptions::default())
    }

    /// [`Connection::send_fragment`] with per-message options, read on the first fragment.
    pub fn send_fragment_with(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
        options: SendOptions,
    ) -> Result<(), UsageError> {
        self.check_can_send_data()?;
        let (opcode, rsv) = match self.encoder.sending {
            None => (kind_opcode(kind), self.encode_start(kind, None, options)),
            Some((sending_kind, transformed)) if sending_kind == kind => {
                (OpCode::Continuation, transformed.then_some(0))
            }
            Some(_) => return Err(UsageError::NoMessageInProgress),
        };
        self.encoder.sending = if fin {
            None
        } else {
            Some((kind, rsv.is_some()))
        };
        // Only the first frame of a message carries the extension's bits.
        let rsv = match (opcode, rsv) {
            (OpCode::Continuation, Some(_)) => Some(0),
            _ => rsv,
        };
        self.write_data(opcode, fin, rsv, payload);
        Ok(())
    }

    /// Queues a ping with up to 125 bytes of payload.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{Config, Connection};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(Config::default(), now);
    /// conn.ping(b"are you there").unwrap();
    /// assert_eq!(&conn.poll_transmit(now)[..2], &[0x89, 13]);
    /// ```
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.check_control(payload)?;
        self.encoder.write_frame(OpCode::Ping, true, 0, payload);
        Ok(())
    }

    /// Queues an unsolicited pong (a one-way heartbeat) with up to 125 bytes of payload.
    /// Pings from the peer are answered by the core; this is not needed for them.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{Config, Connection};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(Config::default(), now);
    /// conn.pong(b"").unwrap(); // an unsolicited pong: a one-way heartbeat (RFC 6455 §5.5.3)
    /// assert_eq!(conn.poll_transmit(now), &[0x8a, 0]);
    /// ```
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.check_control(payload)?;
        self.encoder.write_frame(OpCode::Pong, true, 0, payload);
        Ok(())
    }

    /// Starts the close handshake with a status code and reason (`None` sends a close frame
    /// without a code). Calling it again, or after the peer started closing (the core has
    /// already queued the reply), does nothing.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{CloseFrame, Config, Connection, MessageKind, State, UsageError};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(Config::default(), now);
    /// conn.close(Some(CloseFrame::new(1000, "bye"))).unwrap();
    /// assert_eq!(conn.state(), State::ClosingLocal);
    /// // Nothing may follow a close frame.
    /// assert_eq!(conn.send(MessageKind::Text, b"late"), Err(UsageError::AlreadyClosing));
    /// ```
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), UsageError> {
        if let Some(frame) = &frame {
            frame.check()?;
        }
        if self.state != State::Open {
            return Ok(());
        }
        self.encoder.queue_close(frame.as_ref());
        self.state = self.state.on_close_sent();
        self.timers.stop(Timer::KeepAlive);
        self.timers.stop(Timer::KeepAliveTimeout);
        Ok(())
    }

    /// Like [`Connection::close`], but the close handshake (this one, or one already under
    /// way) must end by `deadline` as well as within the close timeout: past it the
    /// connection ends as on a close timeout ([`ConnectionError::CloseTimeout`] unless the
    /// handshake was done), and the transport should be closed. A server shutting down
    /// closes every connection this way, with one deadline for all.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ropeway_core::{CloseFrame, Config, Connection, ConnectionError, State};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(Config::default(), now);
    /// let deadline = now + Duration::from_secs(1); // sooner than the 5 s close timeout
    /// conn.close_by(Some(CloseFrame::new(1001, "going away")), deadline).unwrap();
    /// assert_eq!(conn.state(), State::ClosingLocal);
    /// let written = conn.poll_transmit(now).len();
    /// conn.advance_transmit(written);
    /// assert_eq!(conn.poll_timeout(), Some(deadline));
    /// conn.handle_timeout(deadline); // the peer never answered
    /// assert_eq!(conn.error(), Some(&ConnectionError::CloseTimeout));
    /// assert!(conn.is_terminated());
    /// ```
    ///
    /// [`ConnectionError::CloseTimeout`]: crate::ConnectionError::CloseTimeout
    pub fn close_by(
        &mut self,
        frame: Option<CloseFrame>,
        deadline: Instant,
    ) -> Result<(), UsageError> {
        self.close(frame)?;
        if self.state != State::Open && !self.abort {
            self.timers.set_earlier(Timer::Close, deadline);
        }
        Ok(())
    }

    /// Bytes queued for the transport, including an owed pong.
    pub fn queued_output(&self) -> usize {
        self.encoder.queued()
    }

    /// Whether a data message can be queued now: the connection is open and the queued
    /// output is under its limit. Adapters wait for the output to drain when it is not.
    pub fn can_send(&self) -> bool {
        self.check_can_send_data().is_ok()
    }

    /// Output: the bytes to write to the transport, oldest first. Call
    /// [`Connection::advance_transmit`] with how many were written. `now` starts the timers
    /// that run from the moment a frame leaves (keep-alive timeout, close timeout).
    pub fn poll_transmit(&mut self, now: Instant) -> &[u8] {
        self.poll_transmit_with(|| now)
    }

    /// Like [`Connection::poll_transmit`], but reads the time from `clock` only when a timer
    /// starts (a keep-alive ping or a close frame is handed over), so an adapter writing data
    /// frames reads no clock.
    pub fn poll_transmit_with(&mut self, clock: impl FnOnce() -> Instant) -> &[u8] {
        if self.state == State::Open {
            self.encoder.flush_pong();
        } else {
            // Ended without a close frame of ours (the peer is gone): the pong owed can never
            // be sent, so it must not stay counted as queued output.
            self.encoder.pong = None;
        }
        if self.transmit_needs_time() {
            self.start_handover_timers(clock());
        }
        match self.encoder.chunks.front() {
            Some(chunk) => chunk,
            None => &self.encoder.out,
        }
    }

    /// Starts the timers that run from the moment a keep-alive ping or a close frame is
    /// handed to the transport.
    fn start_handover_timers(&mut self, now: Instant) {
        if std::mem::take(&mut self.encoder.keep_alive_ping) {
            self.last_ping = Some(now);
            match self.config.keep_alive_timeout {
                Some(timeout) => self.timers.set(Timer::KeepAliveTimeout, now + timeout),
                None => {
                    if let Some(interval) = self.config.keep_alive_interval {
                        self.timers.set(Timer::KeepAlive, now + interval);
                    }
                }
            }
        }
        if std::mem::take(&mut self.encoder.close_pending) {
            // `set_earlier`: a deadline from `close_by` (a server shutting down) stands.
            self.timers
                .set_earlier(Timer::Close, now + self.config.close_timeout);
        }
    }

    /// Output, for a vectored write: fills `slices` with the queued buffers in order and
    /// returns how many it filled. Report what was written with
    /// [`Connection::advance_transmit`].
    pub fn poll_transmit_vectored<'a>(
        &'a mut self,
        now: Instant,
        slices: &mut [IoSlice<'a>],
    ) -> usize {
        self.poll_transmit_vectored_with(|| now, slices)
    }

    /// Like [`Connection::poll_transmit_vectored`], reading the time from `clock` only when
    /// a timer starts (see [`Connection::poll_transmit_with`]).
    pub fn poll_transmit_vectored_with<'a>(
        &'a mut self,
        clock: impl FnOnce() -> Instant,
        slices: &mut [IoSlice<'a>],
    ) -> usize {
        self.poll_transmit_with(clock);
        let encoder = &self.encoder;
        let buffers = encoder
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(Some(&encoder.out[..]));
        let mut filled = 0;
        for (slot, buffer) in slices.iter_mut().zip(buffers.filter(|b| !b.is_empty())) {
            *slot = IoSlice::new(buffer);
            filled += 1;
        }
        filled
    }

    /// Output: `n` bytes of [`Connection::poll_transmit`] were written to the transport.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{Config, Connection, MessageKind};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(Config::default(), now);
    /// conn.send(MessageKind::Binary, &[0; 100]).unwrap();
    /// let out = conn.poll_transmit(now).len();
    /// conn.advance_transmit(40); // the transport took 40 bytes
    /// assert_eq!(conn.queued_output(), out - 40);
    /// ```
    pub fn advance_transmit(&mut self, n: usize) {
        if n > 0 && self.timers.is_armed(Timer::WriteStall) {
            let written = u32::try_from(n).unwrap_or(u32::MAX);
            self.stall_backlog = self.stall_backlog.saturating_sub(written);
            if self.stall_backlog == 0 {
                self.timers.stop(Timer::WriteStall);
            }
        }
        self.encoder.advance(n);
        let out = &mut self.encoder.out;
        if out.is_empty() && self.encoder.chunks.is_empty() {
            if out.capacity() > IDLE_OUTPUT_CAPACITY {
                *out = BytesMut::new();
            }
            self.after_close_queued();
        }
    }

    /// Output: takes everything queued as one buffer, for transports that send owned buffers
    /// (an HTTP/2 stream, a channel).
    pub fn take_transmit(&mut self, now: Instant) -> Bytes {
        self.poll_transmit(now);
        let bytes = if self.encoder.chunks.is_empty() {
            self.encoder.out.split().freeze()
        } else {
            // Rare: shared payloads are queued; join them into one buffer.
            let mut joined = BytesMut::with_capacity(self.encoder.queued());
            self.encoder.chunks.drain_into(&mut joined);
            joined.extend_from_slice(&self.encoder.out.split());
            joined.freeze()
        };
        self.advance_transmit(0);
        bytes
    }

    /// Whether all queued output is in one buffer (no payload is queued by reference), so
    /// [`Connection::poll_transmit`] returns all of it and a plain write suffices.
    pub fn transmit_is_contiguous(&self) -> bool {
        self.encoder.chunks.is_empty()
    }

    /// Whether the next [`Connection::poll_transmit`] starts a timer and so reads the time:
    /// a keep-alive ping or a close frame is about to be handed over.
    pub fn transmit_needs_time(&self) -> bool {
        self.encoder.keep_alive_ping || self.encoder.close_pending
    }

    /// Takes the output buffer's allocation when nothing is queued in it, so that an adapter
    /// can keep one spare buffer per thread instead of one per idle connection (see
    /// [`Connection::lend_output_buffer`]).
    pub fn take_output_buffer(&mut self) -> Option<BytesMut> {
        let out = &mut self.encoder.out;
        // Written-out bytes leave the buffer's start behind; reclaim it without allocating.
        if !out.is_empty() || !out.try_reclaim(1) {
            return None;
        }
        Some(std::mem::take(out))
    }

    /// Whether the connection holds an output buffer (an allocation, empty or not).
    pub(crate) fn holds_output_buffer(&self) -> bool {
        self.encoder.out.capacity() > 0
    }

    /// Offers an empty buffer to encode output into. The connection takes it when it holds
    /// none (idle, or after [`Connection::take_output_buffer`]); otherwise it hands it back.
    pub fn lend_output_buffer(&mut self, mut buffer: BytesMut) -> Option<BytesMut> {
        let out = &mut self.encoder.out;
        if out.capacity() > 0 || !out.is_empty() || buffer.capacity() > IDLE_OUTPUT_CAPACITY {
            return Some(buffer);
        }
        buffer.clear();
        *out = buffer;
        None
    }

    /// Releases buffers that hold nothing, so an idle connection keeps no allocation beyond
    /// its fixed state. Adapters call it when they go idle.
    pub fn shrink_buffers(&mut self) {
        if self.encoder.out.is_empty() {
            self.encoder.out = BytesMut::new();
        }
        self.encoder.chunks.shrink();
        if let Some(negotiated) = self.extension.as_mut() {
            negotiated.shrink();
        }
    }

    /// Once the reply to the peer's close has left, the handshake is complete.
    pub(super) fn after_close_queued(&mut self) {
        if self.state == State::ClosingRemote && self.encoder.queued() == 0 {
            // A client now waits for the server to end the transport, until the close
            // timer armed when the reply was handed to the transport.
            self.state = self.state.on_close_transmitted();
        }
    }

    fn check_can_send_data(&self) -> Result<(), UsageError> {
        self.check_open()?;
        let queued = self.encoder.queued();
        let max = self.config.limits.max_queued_output;
        if queued >= max {
            return Err(UsageError::OutputFull { queued, max });
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), UsageError> {
        if self.error.is_some() {
            return Err(UsageError::ConnectionEnded);
        }
        if !self.state.can_send() {
            return Err(UsageError::AlreadyClosing);
        }
        Ok(())
    }

    fn check_control(&self, payload: &[u8]) -> Result<(), UsageError> {
        crate::message::check_control_payload(payload)?;
        self.check_open()
    }

    /// Asks the extension whether it transforms a new outgoing message; the RSV bits if so.
    fn encode_start(
        &mut self,
        kind: MessageKind,
        len: Option<usize>,
        options: SendOptions,
    ) -> Option<u8> {
        if !options.compress {
            return None;
        }
        self.extension.as_mut()?.extension.encode_start(kind, len)
    }

    /// Writes a data frame, through the extension when `rsv` is `Some`.
    fn write_data(&mut self, opcode: OpCode, fin: bool, rsv: Option<u8>, payload: &[u8]) {
        match (rsv, self.extension.as_mut()) {
            (Some(rsv), Some(negotiated)) => {
                let encoded = &mut negotiated.encoded;
                negotiated.extension.encode(payload, fin, encoded);
                self.encoder.write_frame(opcode, fin, rsv, encoded);
                encoded.clear();
                if encoded.capacity() > IDLE_OUTPUT_CAPACITY {
                    *encoded = BytesMut::new();
                }
            }
            _ => self.encoder.write_frame(opcode, fin, 0, payload),
        }
    }
}

fn kind_opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
