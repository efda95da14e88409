//! The typed step contract: [`Driver::step`] hands out the next [`Step`], and each step that
//! asks for I/O is answered through the step itself, with the only answers that fit it, each
//! of which returns the next step. A write cannot be answered as a flush, a step cannot be
//! answered twice, and the driver cannot be polled while a step is pending (the step
//! borrows it), so a wrong pairing does not compile.
//!
//! The common path is a few calls: an echoed message is `step` → [`Step::ReadScratch`] →
//! [`ScratchRead::read`] → [`Step::Message`] on the way in, and `send`, `step` →
//! [`Step::Write`] → [`WriteStep::bytes`], [`WriteStep::written`] → [`Step::Flush`] →
//! [`FlushStep::flushed`] → [`Step::Ready`] on the way out.
//!
//! A step dropped unanswered leaves the driver as it was: polling again hands the same step
//! out (an event loop that batches its writes to the end of its turn does this).

use std::io::{self, IoSlice};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::event::Event;
use crate::message::Message;

use super::Driver;
use super::error::Error;
use super::next::{Goal, Next};

/// The next step towards a goal, from [`Driver::step`].
#[derive(Debug)]
pub enum Step<'a> {
    /// A whole message, for [`Goal::Message`].
    Message(Message),
    /// An event, for [`Goal::Event`]; also the close for [`Goal::Piece`].
    Event(Event),
    /// The goal is reached: room to send, everything flushed, or a piece to take.
    Ready,
    /// The connection has ended: with the error that ended it (reported once), then `None`.
    Ended(Option<Error>),
    /// The connection has done its share of work without waiting (see [`Next::Yield`]): let
    /// others run, then step again. Nothing to answer.
    Yield,
    /// Nothing to do until the transport is readable or writable (as flagged) or the deadline
    /// passes. A future returns `Pending`; an event loop waits for readiness.
    Wait(Wait<'a>),
    /// Write the output, then answer.
    Write(WriteStep<'a>),
    /// Flush the transport (TLS records, a buffered writer), then answer.
    Flush(FlushStep<'a>),
    /// Nothing is buffered: read into the caller's own scratch (a stack array of
    /// [`super::READ_SCRATCH`] bytes, a loop's shared receive buffer), then answer with what
    /// was read. An idle connection so holds no buffer.
    ReadScratch(ScratchRead<'a>),
    /// Read into the driver's buffer ([`BufferRead::buf`]), then answer with the count.
    ReadBuffer(BufferRead<'a>),
    /// A deadline the caller has not looked at: fire it if it passed, else arm a wake-up.
    Timer(TimerStep<'a>),
    /// Shut the transport down (gracefully, or abort), then answer.
    Shutdown(ShutdownStep<'a>),
}

/// What [`Driver::send_flushing`] did with a message.
#[derive(Debug)]
pub enum Sent<'a> {
    /// Queued: here is the first step towards writing it out ([`Goal::Flushed`]).
    Queued(Step<'a>),
    /// Nothing was queued: the output is over its limit, or the connection no longer
    /// sends. Wait for [`Goal::SendReady`] (which says which), then send it again.
    NotReady(Message),
}

/// What [`Step::Wait`] waits for. The deadline is looked up only when asked for: a future
/// that returns `Pending` at every wait needs none of it (its timer is armed already).
#[derive(Clone, Copy, Debug)]
pub struct Wait<'a> {
    /// Wake up when the transport is readable.
    pub read: bool,
    /// Wake up when the transport is writable.
    pub write: bool,
    driver: &'a Driver,
}

impl Wait<'_> {
    /// Wake up at this time (already announced with [`Step::Timer`]).
    #[inline]
    pub fn deadline(&self) -> Option<Instant> {
        self.driver.deadline()
    }

    /// The bytes queued for the peer while waiting: what a sender on another task weighs
    /// against the output limit.
    #[inline]
    pub fn queued_output(&self) -> usize {
        self.driver.connection().queued_output()
    }
}

impl<'a> Step<'a> {
    /// Wraps what the driver's poll said.
    #[inline]
    pub(super) fn from_next(driver: &'a mut Driver, goal: Goal, next: Next) -> Step<'a> {
        match next {
            Next::Message(message) => Step::Message(message),
            Next::Event(event) => Step::Event(event),
            Next::Ready => Step::Ready,
            Next::Ended(error) => Step::Ended(error),
            Next::Yield => Step::Yield,
            Next::Wait { read, write, .. } => Step::Wait(Wait {
                read,
                write,
                driver,
            }),
            Next::Write => Step::Write(WriteStep { driver, goal }),
            Next::Flush => Step::Flush(FlushStep { driver, goal }),
            Next::Read => {
                if driver.reads_into_scratch() {
                    Step::ReadScratch(ScratchRead { driver, goal })
                } else {
                    Step::ReadBuffer(BufferRead { driver, goal })
                }
            }
            Next::Timer(deadline) => Step::Timer(TimerStep {
                driver,
                goal,
                deadline,
            }),
            Next::Shutdown { graceful } => Step::Shutdown(ShutdownStep {
                driver,
                goal,
                graceful,
            }),
        }
    }

    /// What a receive call returns for this outcome of [`Goal::Message`]: the message, the
    /// error that ended the connection (once), or `None` at the end.
    #[inline]
    pub fn into_message(self) -> Option<Result<Message, Error>> {
        match self {
            Step::Message(message) => Some(Ok(message)),
            Step::Ended(error) => error.map(Err),
            _ => None,
        }
    }

    /// What waiting for [`Goal::SendReady`] returns: room to send, or why there is none
    /// ([`Error::Closed`] once the connection no longer sends).
    #[inline]
    pub fn into_send_ready(self) -> Result<(), Error> {
        match self {
            Step::Ended(Some(error)) => Err(error),
            Step::Ended(None) => Err(Error::Closed),
            _ => Ok(()),
        }
    }

    /// What waiting for [`Goal::Flushed`] or [`Goal::Closed`] returns: done, or the error
    /// that ended the connection on the way.
    #[inline]
    pub fn into_done(self) -> Result<(), Error> {
        match self {
            Step::Ended(Some(error)) => Err(error),
            _ => Ok(()),
        }
    }
}

/// [`Step::Write`]: write [`WriteStep::bytes`] (or the vectored or owned form), then answer
/// [`written`](WriteStep::written), [`blocked`](WriteStep::blocked) or
/// [`failed`](WriteStep::failed).
#[derive(Debug)]
pub struct WriteStep<'a> {
    driver: &'a mut Driver,
    goal: Goal,
}

impl<'a> WriteStep<'a> {
    /// Whether all queued output is in one buffer, so a plain write takes all of it.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.driver.transmit_is_contiguous()
    }

    /// The bytes to write, reading the time from `clock` only when a timer starts (a
    /// keep-alive ping or close frame is handed over).
    #[inline]
    pub fn bytes(&mut self, clock: impl FnOnce() -> Instant) -> &[u8] {
        self.driver.poll_transmit_with(clock)
    }

    /// The output for a vectored write: fills `slices`, returns how many.
    #[inline]
    pub fn vectored<'s>(
        &'s mut self,
        clock: impl FnOnce() -> Instant,
        slices: &mut [IoSlice<'s>],
    ) -> usize {
        self.driver.poll_transmit_vectored(clock, slices)
    }

    /// The whole output as one owned buffer, counted as written (an HTTP/2 stream, a
    /// channel), and the next step.
    #[inline]
    pub fn take(self, now: Instant) -> (Bytes, Step<'a>) {
        let bytes = self.driver.take_transmit(now);
        (bytes, self.driver.step(self.goal))
    }

    /// `n` bytes were written (0 is an error, `WriteZero`). When that was everything, the
    /// next step is [`Step::Flush`]: flush in the same turn.
    #[inline]
    pub fn written(self, n: usize) -> Step<'a> {
        if self.driver.handle_written(n) && self.driver.phase_is_running() {
            // Everything is written: flush in the same turn, without another poll (the one
            // thing a poll could put first, decoding buffered input, can wait for the flush).
            self.driver.begin_flush();
            return Step::Flush(FlushStep {
                driver: self.driver,
                goal: self.goal,
            });
        }
        self.driver.step(self.goal)
    }

    /// The transport took nothing at `now` (would block, `Pending`, no HTTP/2 send window);
    /// starts the write stall timer.
    #[inline]
    pub fn blocked(self, now: Instant) -> Step<'a> {
        self.driver.handle_write_blocked(now);
        self.driver.step(self.goal)
    }

    /// The write failed: the peer is taken as gone.
    #[inline]
    pub fn failed(self, error: io::Error) -> Step<'a> {
        self.driver.handle_io_error(error);
        self.driver.step(self.goal)
    }

    /// The caller writes at the end of its turn (an event loop gathering each connection's
    /// output into one write): the running connection goes on reading and decoding
    /// meanwhile, so that what is read now is answered in the same write. The caller then
    /// reports [`Driver::handle_write_turn`]. A connection that is ending asks to write
    /// again at once.
    #[inline]
    pub fn later(self) -> Step<'a> {
        self.driver.flags.set_write_later(true);
        self.driver.step(self.goal)
    }
}

/// [`Step::Flush`]: flush the transport, then answer [`flushed`](FlushStep::flushed),
/// [`blocked`](FlushStep::blocked) or [`failed`](FlushStep::failed).
#[derive(Debug)]
pub struct FlushStep<'a> {
    driver: &'a mut Driver,
    goal: Goal,
}

impl<'a> FlushStep<'a> {
    /// The flush completed.
    #[inline]
    pub fn flushed(self) -> Step<'a> {
        self.driver.handle_flushed();
        self.driver.step(self.goal)
    }

    /// The flush could not proceed at `now`.
    #[inline]
    pub fn blocked(self, now: Instant) -> Step<'a> {
        self.driver.handle_write_blocked(now);
        self.driver.step(self.goal)
    }

    /// The flush failed: the peer is taken as gone.
    #[inline]
    pub fn failed(self, error: io::Error) -> Step<'a> {
        self.driver.handle_io_error(error);
        self.driver.step(self.goal)
    }
}

/// [`Step::ReadScratch`]: read into your own scratch, then answer
/// [`read`](ScratchRead::read), [`blocked`](ScratchRead::blocked) or
/// [`failed`](ScratchRead::failed).
#[derive(Debug)]
pub struct ScratchRead<'a> {
    driver: &'a mut Driver,
    goal: Goal,
}

impl<'a> ScratchRead<'a> {
    /// These bytes were read (empty: the end of the stream); the driver keeps a copy of
    /// them, so the scratch can be reused at once.
    #[inline]
    pub fn read(self, bytes: &[u8]) -> Step<'a> {
        self.driver.handle_read_slice(bytes);
        self.driver.step(self.goal)
    }

    /// The read found nothing (would block, `Pending`). An idle connection gives its
    /// buffers up here.
    #[inline]
    pub fn blocked(self) -> Step<'a> {
        read_blocked(self.driver, self.goal)
    }

    /// The read failed.
    #[inline]
    pub fn failed(self, error: io::Error) -> Step<'a> {
        self.driver.handle_io_error(error);
        self.driver.step(self.goal)
    }
}

/// [`Step::ReadBuffer`]: read into the spare capacity of [`BufferRead::buf`], then answer
/// [`filled`](BufferRead::filled), [`blocked`](BufferRead::blocked) or
/// [`failed`](BufferRead::failed).
#[derive(Debug)]
pub struct BufferRead<'a> {
    driver: &'a mut Driver,
    goal: Goal,
}

impl<'a> BufferRead<'a> {
    /// The buffer to read into, with room made for the read; append to it (e.g.
    /// `tokio_util::io::poll_read_buf`, or `resize`, read, `truncate`).
    #[inline]
    pub fn buf(&mut self) -> &mut BytesMut {
        self.driver.buffer_for_read()
    }

    /// `n` bytes were appended to the buffer; 0 is the end of the stream.
    #[inline]
    pub fn filled(self, n: usize) -> Step<'a> {
        self.driver.handle_read(n);
        self.driver.step(self.goal)
    }

    /// The read found nothing (would block, `Pending`).
    #[inline]
    pub fn blocked(self) -> Step<'a> {
        read_blocked(self.driver, self.goal)
    }

    /// The read failed.
    #[inline]
    pub fn failed(self, error: io::Error) -> Step<'a> {
        self.driver.handle_io_error(error);
        self.driver.step(self.goal)
    }
}

/// A blocked read: when everything else was done before the read was asked for, the next
/// step is a wait, said without polling again.
#[inline]
fn read_blocked(driver: &mut Driver, goal: Goal) -> Step<'_> {
    if driver.handle_read_blocked() {
        let (read, write) = driver.wait_flags(goal);
        return Step::Wait(Wait {
            read,
            write,
            driver,
        });
    }
    driver.step(goal)
}

/// [`Step::Timer`]: if [`deadline`](TimerStep::deadline) has passed, answer
/// [`expired`](TimerStep::expired); otherwise arm a wake-up for it and answer
/// [`armed`](TimerStep::armed).
#[derive(Debug)]
pub struct TimerStep<'a> {
    driver: &'a mut Driver,
    goal: Goal,
    deadline: Instant,
}

impl<'a> TimerStep<'a> {
    /// The deadline to fire at.
    #[inline]
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The deadline passed: it is now `now`.
    #[inline]
    pub fn expired(self, now: Instant) -> Step<'a> {
        self.driver.handle_timeout(now);
        self.driver.step(self.goal)
    }

    /// A wake-up is armed for the deadline.
    #[inline]
    pub fn armed(self) -> Step<'a> {
        self.driver.handle_timer_pending();
        self.driver.step(self.goal)
    }
}

/// [`Step::Shutdown`]: shut the transport down ([`graceful`](ShutdownStep::graceful): TCP
/// FIN, TLS close_notify, HTTP/2 END_STREAM; otherwise abort: drop the socket,
/// RST_STREAM), then answer [`done`](ShutdownStep::done) or
/// [`blocked`](ShutdownStep::blocked) while it is under way.
#[derive(Debug)]
pub struct ShutdownStep<'a> {
    driver: &'a mut Driver,
    goal: Goal,
    graceful: bool,
}

impl<'a> ShutdownStep<'a> {
    /// A graceful end (after a close handshake, or a protocol error whose close frame went
    /// out) rather than an abort (the peer is gone).
    #[inline]
    pub fn graceful(&self) -> bool {
        self.graceful
    }

    /// The transport is shut down (or the attempt is over).
    #[inline]
    pub fn done(self) -> Step<'a> {
        self.driver.handle_shutdown();
        self.driver.step(self.goal)
    }

    /// The shutdown is under way and could not finish at `now`.
    #[inline]
    pub fn blocked(self, now: Instant) -> Step<'a> {
        self.driver.handle_write_blocked(now);
        self.driver.step(self.goal)
    }
}
