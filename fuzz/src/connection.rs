//! The connection targets' engine: a script of steps ([`Op`]) run against one end of a
//! connection, with the [`Checker`] watching everything it reports.
//!
//! What is specific to [`Connection`] lives in [`ConnectionEndpoint`], behind the
//! [`Endpoint`] trait; the script, the handshake and the checks are shared. Fuzzing the
//! core's driver instead means one more `Endpoint` implementation and a changed line in
//! [`run`].

use std::io::IoSlice;
use std::sync::OnceLock;
use std::time::Instant;

use ropeway_core::{
    Bytes, BytesMut, CloseCode, CloseFrame, Connection, Event, MessageKind, Role, SendOptions,
    State,
};

use crate::check::Checker;
use crate::script::{Op, Script, Send, Stream};
use crate::setup::{Flags, pair};

/// One end of a connection as the script sees it.
pub trait Endpoint {
    /// Carries out one step, reading what it needs from `stream`.
    fn step(&mut self, op: Op, stream: &mut Stream<'_>);
    /// The transport ends: everything queued is written, then end of stream is read.
    fn finish(&mut self);
}

/// Runs a fuzzer input against the `role` end of a connection opened with the settings its
/// flags byte picks (see [`Flags::from_byte`]); the payload is what the peer sends.
pub fn run(role: Role, data: &[u8]) {
    let script = Script::parse(data);
    let flags = Flags::from_byte(script.flags);
    let mut endpoint = ConnectionEndpoint::new(role, &flags);
    let mut stream = script.stream();
    for op in script.ops() {
        endpoint.step(op, &mut stream);
    }
    endpoint.finish();
}

/// A [`Connection`] with its read buffer and a virtual clock.
pub struct ConnectionEndpoint {
    conn: Connection,
    input: BytesMut,
    now: Instant,
    check: Checker,
    echo: bool,
    /// Messages this run may still compress.
    compress_budget: u8,
    /// The fragmented message being sent: payload bytes and frames so far.
    outgoing: (usize, usize),
}

impl ConnectionEndpoint {
    /// The `role` end of a connection opened by an in-memory handshake.
    pub fn new(role: Role, flags: &Flags) -> Self {
        let pair = pair(flags);
        let conn = match role {
            Role::Client => pair.client,
            Role::Server => pair.server,
        };
        Self::from_connection(conn, pair.now, flags.echo)
    }

    /// An endpoint around a connection opened elsewhere; `echo` sends data back.
    pub fn from_connection(conn: Connection, now: Instant, echo: bool) -> Self {
        ConnectionEndpoint {
            check: Checker::new(conn.config()),
            conn,
            input: BytesMut::new(),
            now,
            echo,
            compress_budget: COMPRESSED_PER_RUN,
            outgoing: (0, 0),
        }
    }

    /// Decodes everything the read buffer holds.
    fn decode(&mut self, partial: bool) {
        // Every event consumes input, except the one that ends a frame whose header was
        // consumed in the same call: a loop that hands out more is stuck.
        let most = 2 * self.input.len() + 2;
        let mut events = 0;
        loop {
            let stored = self.conn.error().cloned();
            let result = if partial {
                self.conn.recv_partial(&mut self.input)
            } else {
                self.conn.recv(&mut self.input)
            };
            self.check.on_recv(&result, stored.as_ref());
            match result {
                Ok(Some(event)) => {
                    if trace() {
                        eprintln!("  event {event:?}");
                    }
                    events += 1;
                    assert!(events <= most, "recv hands out events without reading");
                    self.respond(event);
                }
                Ok(None) => break,
                Err(_) => {
                    assert_eq!(self.conn.state(), State::Closed, "a failed connection");
                    break;
                }
            }
        }
        let _ = self.conn.read_hint(self.input.len());
    }

    /// What the application does with an event: echo data back when asked to.
    fn respond(&mut self, event: Event) {
        let Event::Data(data) = event else {
            return;
        };
        if !self.echo {
            return;
        }
        if data.message_start && data.message_end {
            self.send_message(data.kind, data.payload, true);
        } else {
            self.send_fragment(data.kind, &data.payload, data.message_end);
        }
    }

    /// Queues a whole message, as `Bytes` (`by_ref`: a server sends a large one without
    /// copying it) or as a slice.
    fn send_message(&mut self, kind: MessageKind, payload: Bytes, by_ref: bool) {
        let len = payload.len();
        let options = self.options(len);
        let sent = if by_ref {
            self.conn.send_bytes_with(kind, payload, options)
        } else {
            self.conn.send_with(kind, &payload, options)
        };
        if sent.is_ok() {
            self.check.on_send(len, 1);
        }
    }

    /// Queues a fragment, counted into the outgoing message it belongs to.
    fn send_fragment(&mut self, kind: MessageKind, payload: &[u8], fin: bool) {
        let options = self.options(payload.len());
        if self
            .conn
            .send_fragment_with(kind, payload, fin, options)
            .is_ok()
        {
            self.outgoing.0 += payload.len();
            self.outgoing.1 += 1;
            self.check.on_send(self.outgoing.0, self.outgoing.1);
            if fin {
                self.outgoing = (0, 0);
            }
        }
    }

    /// Whether to compress the next message of `len` bytes (see [`COMPRESS_AT_MOST`]).
    fn options(&mut self, len: usize) -> SendOptions {
        let compress = len <= COMPRESS_AT_MOST && self.compress_budget > 0;
        self.compress_budget -= u8::from(compress);
        SendOptions { compress }
    }

    /// The transport writes up to `max` bytes; `poll_transmit` may offer them in several
    /// buffers (a payload queued by reference comes as its own).
    fn write(&mut self, max: usize) {
        let mut written = 0;
        while written < max {
            let out = self.conn.poll_transmit(self.now);
            let n = out.len().min(max - written);
            if n == 0 {
                break;
            }
            self.conn.advance_transmit(n);
            written += n;
        }
    }

    /// Like [`ConnectionEndpoint::write`], with a vectored write of up to four buffers.
    fn write_vectored(&mut self, max: usize) {
        let mut written = 0;
        while written < max {
            let queued = self.conn.queued_output();
            let mut slices = [IoSlice::new(&[]); 4];
            let filled = self.conn.poll_transmit_vectored(self.now, &mut slices);
            let offered: usize = slices[..filled].iter().map(|s| s.len()).sum();
            // Only an owed pong can grow (into a frame) on the way out.
            assert!(
                offered <= queued + 4,
                "offered {offered} of {queued} queued"
            );
            let n = offered.min(max - written);
            if n == 0 {
                break;
            }
            self.conn.advance_transmit(n);
            written += n;
        }
    }

    fn send(&mut self, send: Send) {
        match send {
            Send::Ping(len) => {
                let payload = text(len.min(125));
                if self.conn.ping(payload).is_ok() {
                    self.check.on_control_sent(payload.len());
                }
            }
            Send::Text(len) => {
                self.send_message(MessageKind::Text, Bytes::from_static(text(len)), false)
            }
            Send::Binary(len) => {
                self.send_message(MessageKind::Binary, Bytes::from_static(binary(len)), true)
            }
            Send::Fragment { len, fin } => {
                self.send_fragment(MessageKind::Binary, binary(len), fin)
            }
        }
    }
}

impl Endpoint for ConnectionEndpoint {
    fn step(&mut self, op: Op, stream: &mut Stream<'_>) {
        match op {
            Op::Feed { len, partial } => {
                self.input.extend_from_slice(stream.take(len));
                self.decode(partial);
            }
            Op::Buffer { len } => self.input.extend_from_slice(stream.take(len)),
            Op::Write {
                max,
                vectored: false,
            } => self.write(max),
            Op::Write {
                max,
                vectored: true,
            } => self.write_vectored(max),
            Op::Blocked => self.conn.handle_write_blocked(self.now),
            Op::TakeAll => {
                let before = self.conn.queued_output();
                let taken = self.conn.take_transmit(self.now);
                // Only an owed pong can be added (flushed as a frame) on the way out.
                assert!(taken.len() <= before + 4, "took more than was queued");
            }
            Op::Wait(by) => {
                self.now += by;
                self.conn.handle_timeout(self.now);
                self.check.on_timeout();
                if let Some(next) = self.conn.poll_timeout() {
                    assert!(next > self.now, "a timer due now survived handle_timeout");
                }
            }
            Op::Close { with_code } => {
                let frame = with_code.then(|| CloseFrame {
                    code: CloseCode::NORMAL,
                    reason: "bye".to_owned(),
                });
                if self.conn.close(frame).is_ok() {
                    self.check.on_control_sent(125);
                }
            }
            Op::Send(send) => self.send(send),
        }
        if trace() {
            eprintln!(
                "{op:?}: state {:?}, queued {}, input {}, error {:?}",
                self.conn.state(),
                self.conn.queued_output(),
                self.input.len(),
                self.conn.error()
            );
        }
        self.check.on_queued(self.conn.queued_output());
    }

    fn finish(&mut self) {
        self.write(usize::MAX);
        self.check.on_queued(self.conn.queued_output());
        self.conn.handle_eof();
        self.decode(false);
        assert!(
            self.check.error().is_some() || !self.conn.state().can_receive(),
            "end of stream in state {:?} reported no error",
            self.conn.state()
        );
        // Sticky: asking again gives the same answer.
        self.decode(true);
        self.write(usize::MAX);
        assert_eq!(
            self.conn.queued_output(),
            0,
            "output left after writing all"
        );
        assert!(
            self.conn.is_terminated(),
            "after end of stream and all output written, the transport can close \
             (state {:?}, error {:?})",
            self.conn.state(),
            self.conn.error()
        );
    }
}

/// Messages over this size are sent without compression. Compressing is this end's own
/// work on data the fuzzer barely shapes, and instrumented it costs more than everything
/// else in a run; large messages still take the per-message "no compression" path.
const COMPRESS_AT_MOST: usize = 1024;

/// At most this many messages are compressed per run, for the same reason; a few suffice
/// to carry the compressor's context from one message to the next.
const COMPRESSED_PER_RUN: u8 = 4;

/// Whether to print each step (`ROPEWAY_FUZZ_TRACE=1`, for replaying one input).
pub(crate) fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("ROPEWAY_FUZZ_TRACE").is_some())
}

/// Compressible text of `len` bytes (at most 8 KiB).
fn text(len: usize) -> &'static [u8] {
    static TEXT: OnceLock<Vec<u8>> = OnceLock::new();
    let text = TEXT.get_or_init(|| (0..PATTERN_LEN).map(|i| b'a' + (i % 26) as u8).collect());
    &text[..len.min(PATTERN_LEN)]
}

/// Bytes that compress badly, `len` of them (at most 8 KiB).
fn binary(len: usize) -> &'static [u8] {
    static BINARY: OnceLock<Vec<u8>> = OnceLock::new();
    let binary = BINARY.get_or_init(|| {
        let mut x: u32 = 0x9e37_79b9;
        (0..PATTERN_LEN)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    });
    &binary[..len.min(PATTERN_LEN)]
}

/// The longest payload the application sends.
const PATTERN_LEN: usize = 8 << 10;
