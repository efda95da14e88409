//! The driver targets' engine: the same scripts ([`Op`]) run against a [`Driver`], whose
//! steps are carried out over a scripted transport the way a runtime adapter carries them
//! out over a socket. The script decides what the transport offers: bytes to read (cut at
//! fuzzer-chosen points), room to write, a blocked write, time passing; and what the
//! application asks for: a message, a piece, room to send, a flush, a close, sends of its own.
//!
//! Invariants besides "never panics":
//! - a drive towards any goal ends (reached or waiting) within a bounded number of steps;
//! - the error that ended the connection is reported once, and then only the end;
//! - after the end, every send reports it;
//! - the driver never reads while its output is over the limit, so queued output stays
//!   within the limit plus the largest message the application queued at once plus one owed
//!   pong and one close frame, whatever the peer sends;
//! - a `handle_read_blocked` that says "wait" is followed by a poll that says so too.

use std::time::Instant;

use ropeway_core::driver::{Driver, Goal, Next, ReadInto};
use ropeway_core::{Bytes, BytesMut, CloseFrame, Message, Role, SendOptions};

use crate::script::{Op, Script, Send, Stream};
use crate::setup::{Flags, pair};

/// Steps a single drive may take before it is taken to be stuck.
const MAX_STEPS: usize = 100_000;

/// Runs a fuzzer input against the `role` end's driver.
pub fn run(role: Role, data: &[u8]) {
    let script = Script::parse(data);
    let flags = Flags::from_byte(script.flags);
    let pair = pair(&flags);
    let (conn, input) = match role {
        Role::Client => (pair.client, BytesMut::new()),
        Role::Server => (pair.server, BytesMut::new()),
    };
    let mut end = DriverEndpoint {
        largest_send: 0,
        own_control: 0,
        driver: Driver::new(conn, input, 4096),
        now: pair.now,
        readable: BytesMut::new(),
        eof: false,
        room: 0,
        reported: false,
        ended: false,
    };
    let mut stream = script.stream();
    for op in script.ops() {
        end.step(op, &mut stream);
    }
    end.finish();
}

/// A driver and its scripted transport.
struct DriverEndpoint {
    driver: Driver,
    /// The largest message the application queued, framed (and maybe compressed).
    largest_send: usize,
    /// Control frames the application queued since the output was last empty: the limit
    /// does not hold them back (a ping or close is never refused for it).
    own_control: usize,
    now: Instant,
    /// Bytes the transport has for the next reads.
    readable: BytesMut,
    /// The peer ended its side: reads find the end of stream once `readable` is empty.
    eof: bool,
    /// Bytes the transport takes before it blocks.
    room: usize,
    /// The error that ended the connection was reported.
    reported: bool,
    /// The end was reported.
    ended: bool,
}

impl DriverEndpoint {
    fn step(&mut self, op: Op, stream: &mut Stream<'_>) {
        match op {
            Op::Feed { len, partial } => {
                self.readable.extend_from_slice(stream.take(len));
                self.receive(if partial { Goal::Piece } else { Goal::Message });
            }
            Op::Buffer { len } => self.readable.extend_from_slice(stream.take(len)),
            Op::Write { max, .. } => {
                self.room = self.room.saturating_add(max);
                self.drive(Goal::Flushed);
            }
            Op::TakeAll => {
                let _ = self.driver.take_transmit(self.now);
            }
            Op::Blocked => self.room = 0,
            Op::Wait(by) => {
                self.now += by;
                self.drive(Goal::SendReady);
            }
            Op::Close { with_code } => {
                let frame = with_code.then(|| CloseFrame::new(1000, "bye"));
                if self.driver.close(frame).is_ok() {
                    self.own_control += 125 + 14;
                }
                self.drive(Goal::Closed);
            }
            Op::Send(send) => self.send(send),
        }
        self.check_bound();
    }

    /// Queued output stays within the limit plus one message accepted whole under it, one
    /// owed pong and one close frame: reading stops while it is over the limit.
    fn check_bound(&mut self) {
        let conn = self.driver.connection();
        let queued = conn.queued_output();
        if queued == 0 {
            self.own_control = 0;
        }
        let bound = conn.config().limits.max_queued_output
            + self.largest_send
            + self.own_control
            + 2 * (125 + 14);
        assert!(
            queued <= bound,
            "{queued} bytes queued, over the bound of {bound}"
        );
    }

    fn send(&mut self, send: Send) {
        let (message, len) = match send {
            Send::Ping(n) => (Message::Ping(Bytes::from(vec![1; n.min(125)])), 0),
            Send::Text(n) => (Message::text("t".repeat(n)), n),
            Send::Binary(n) | Send::Fragment { len: n, .. } => (Message::binary(vec![2; n]), n),
        };
        // Framed, and what deflating incompressible bytes may add.
        let framed = len.max(125) + len / 64 + 64;
        let control = matches!(message, Message::Ping(_));
        if self.driver.send(message, SendOptions::default()).is_ok() {
            if control {
                self.own_control += 125 + 14;
            } else {
                self.largest_send = self.largest_send.max(framed);
            }
        }
        if self.ended {
            assert!(
                self.driver
                    .send(Message::text("late"), SendOptions::default())
                    .is_err(),
                "a send after the end was accepted"
            );
        }
    }

    /// Receives until the goal waits, as an application in `recv` would.
    fn receive(&mut self, goal: Goal) {
        let mut buf = [0; 1000];
        for _ in 0..64 {
            if goal == Goal::Piece {
                while self.driver.take_piece(&mut buf).is_some() {}
            }
            if !self.drive(goal) {
                return;
            }
        }
    }

    /// Carries out the driver's steps towards `goal`. Whether the goal was reached (and
    /// driving again may get more).
    fn drive(&mut self, goal: Goal) -> bool {
        self.driver.handle_wakeup();
        for _ in 0..MAX_STEPS {
            let over_limit = self.driver.connection().queued_output()
                > self.driver.connection().config().limits.max_queued_output;
            self.check_bound();
            match self.driver.poll(goal) {
                Next::Write => {
                    let out = self.driver.poll_transmit_with(|| self.now);
                    let n = out.len().min(self.room);
                    if n == 0 {
                        self.driver.handle_write_blocked(self.now);
                    } else {
                        self.room -= n;
                        if self.driver.handle_written(n) {
                            self.driver.handle_flushed();
                        }
                    }
                }
                Next::Flush => self.driver.handle_flushed(),
                Next::Read => {
                    assert!(!over_limit, "read while the output is over its limit");
                    if self.readable.is_empty() {
                        if self.eof {
                            self.driver.handle_read(0);
                        } else if self.driver.handle_read_blocked() {
                            let next = self.driver.poll(goal);
                            assert!(matches!(next, Next::Wait { .. }), "{next:?}");
                            return false;
                        }
                        continue;
                    }
                    // Reads of varying size: the whole of what is there, split where the
                    // scripted feeds split it.
                    let bytes = self.readable.split();
                    match self.driver.read_into() {
                        ReadInto::Scratch => self.driver.handle_read_slice(&bytes),
                        ReadInto::Buffer(buf) => {
                            buf.extend_from_slice(&bytes);
                            self.driver.handle_read(bytes.len());
                        }
                    }
                }
                Next::Timer(deadline) => {
                    if deadline <= self.now {
                        self.driver.handle_timeout(self.now);
                    } else {
                        self.driver.handle_timer_pending();
                    }
                }
                Next::Wait { .. } => return false,
                // One caller, nobody else to let run.
                Next::Yield => {}
                Next::Shutdown { .. } => self.driver.handle_shutdown(),
                Next::Ended(error) => {
                    if error.is_some() {
                        assert!(!self.reported, "the end's error was reported twice");
                        self.reported = true;
                    }
                    if goal != Goal::SendReady && goal != Goal::Flushed {
                        self.ended = self.ended || self.driver.is_ended();
                    }
                    return false;
                }
                Next::Message(_) | Next::Event(_) | Next::Ready => return true,
            }
        }
        panic!("the driver made {MAX_STEPS} steps towards {goal:?} without reaching it or waiting");
    }

    /// The peer ends its side; the application receives until the end.
    fn finish(&mut self) {
        self.eof = true;
        self.room = usize::MAX;
        for _ in 0..1000 {
            if !self.drive(Goal::Message) && self.driver.is_ended() {
                break;
            }
        }
    }
}
