//! The end of a connection's life, decided once: what an error means for the peer, the close
//! frame answering it, the write side shut so the peer reads that frame and then the end, a
//! bounded drain of what the peer still sends (closing a socket with unread input resets the
//! connection, and a reset can destroy the close frame before the peer reads it), the error
//! reported once, and the transport shut down or aborted.

use crate::error::ConnectionError;

use super::next::{Goal, Next};
use super::{Driver, Error, Phase, Slot};

/// How the connection ends.
#[derive(Debug)]
pub(super) struct Ending {
    /// The error to report (taken when reported).
    error: Option<Error>,
    /// Bytes read and dropped while draining.
    drained: usize,
}

impl Driver {
    /// An error ends the connection. A peer that broke the protocol still gets the close
    /// frame the core queued; a peer that vanished, stopped answering or failed the
    /// transport gets nothing more.
    #[cold]
    pub(super) fn begin_ending(&mut self, error: Error) {
        if self.phase != Phase::Running {
            return;
        }
        self.flags.set_peer_gone(matches!(
            error,
            Error::Connection(
                ConnectionError::KeepAliveTimeout
                    | ConnectionError::Abnormal
                    | ConnectionError::CloseTimeout
                    | ConnectionError::WriteStalled
            ) | Error::Io(_)
        ));
        self.ending = Some(Box::new(Ending {
            error: Some(error),
            drained: 0,
        }));
        // A held event (a ping or close waiting for its answer to go out) stays: after a
        // write error it is handed out with whatever else arrived before the end.
        self.phase = Phase::Failing;
    }

    /// Writes the close frame answering the error, but only until the close timer (armed
    /// when the frame was handed over) gives up on the peer: one that never reads must not
    /// hold the error back forever.
    pub(super) fn poll_failing(&mut self, goal: Goal) -> Option<Next> {
        if !self.flags.peer_gone() {
            let queued = self.conn.queued_output();
            if queued > 0 || self.flags.flush_needed() {
                if !self.flags.write_blocked() {
                    return Some(if queued > 0 { Next::Write } else { Next::Flush });
                }
                if self.conn.is_terminated() {
                    self.flags.set_peer_gone(true);
                } else if let Some(next) = self.poll_timer() {
                    return Some(next);
                } else {
                    return Some(self.wait(goal));
                }
            }
        }
        self.phase = if self.flags.peer_gone() {
            Phase::Reporting
        } else {
            Phase::Closing
        };
        None
    }

    /// Shuts the transport down: the write side after a failure (then drains), or the whole
    /// of it at the end.
    pub(super) fn poll_shutdown(&mut self, goal: Goal) -> Option<Next> {
        if !self.flags.write_blocked() {
            return Some(Next::Shutdown {
                graceful: !self.flags.peer_gone(),
            });
        }
        if !self.flags.peer_gone() {
            return Some(self.wait(goal));
        }
        // A gone peer gets one try: a TLS close_notify to a peer that stopped reading would
        // wait forever.
        self.handle_shutdown();
        None
    }

    /// Reads and drops what the peer still sends until its end of stream, the drain limit,
    /// or the close timeout.
    pub(super) fn poll_draining(&mut self, goal: Goal) -> Option<Next> {
        let drained = self.ending.as_ref().map_or(0, |e| e.drained);
        let done = self.flags.eof()
            || self.flags.peer_gone()
            || drained >= self.conn.config().failure_drain
            || self.conn.is_aborted();
        if done {
            self.reader.release();
            self.phase = Phase::Reporting;
            return None;
        }
        if !goal.receives() {
            // Only a receiving caller drains; a sender just learns that the end has come.
            return Some(Next::Ended(None));
        }
        if let Some(next) = self.poll_timer() {
            return Some(next);
        }
        if !self.flags.read_blocked() {
            return Some(Next::Read);
        }
        Some(Next::Wait {
            read: true,
            write: false,
            deadline: self.conn.poll_timeout(),
        })
    }

    /// Input while draining: `n` bytes read and dropped.
    pub(super) fn drop_drained(&mut self, n: usize) {
        self.reader.release();
        if let Some(ending) = self.ending.as_mut() {
            ending.drained = ending.drained.saturating_add(n);
        }
    }

    /// After a write error: hands out what the peer sent before it went. A close frame among
    /// it ends the connection as the peer meant it (the close is reported instead of the
    /// write error); reading that would block, fails or ends reports the write error.
    pub(super) fn poll_salvaging(&mut self, goal: Goal) -> Option<Next> {
        if !goal.receives() {
            return Some(Next::Ended(None));
        }
        if !self.flags.app_behind() {
            if matches!(self.slot.as_deref(), Some(Slot::Held(_)))
                && let Some(Slot::Held(held)) = self.slot.take().map(|slot| *slot)
            {
                // Decoded before the write failed, its answer never went out.
                if matches!(held, crate::event::Event::Close(_)) {
                    if let Some(ending) = self.ending.as_mut() {
                        ending.error = None;
                    }
                    self.phase = Phase::Reporting;
                }
                return self.deliver(goal, held);
            }
            match self.decode(goal) {
                Ok(Some(event)) => {
                    if matches!(event, crate::event::Event::Close(_)) {
                        // The peer's own account of the end stands; nothing is left to say.
                        if let Some(ending) = self.ending.as_mut() {
                            ending.error = None;
                        }
                        self.phase = Phase::Reporting;
                    }
                    return self.deliver(goal, event);
                }
                Ok(None) if !self.flags.eof() && !self.flags.read_blocked() => {
                    self.flags.set_writing(false);
                    return Some(Next::Read);
                }
                Ok(None) if !self.flags.eof() && self.transport_is_gone() => {
                    // The kernel has what the peer sent and will answer the read at once;
                    // the runtime may just not have seen the readiness yet.
                    return Some(Next::Wait {
                        read: true,
                        write: false,
                        deadline: self.conn.poll_timeout(),
                    });
                }
                // Nothing more to read now, or the stream failed too: the write error stands.
                Ok(None) | Err(_) => {}
            }
        }
        self.phase = Phase::Reporting;
        None
    }

    /// Whether the write error says the connection itself is gone (reset, closed by the
    /// peer), so that a read completes at once with what arrived before, or with the error.
    fn transport_is_gone(&self) -> bool {
        use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
        matches!(
            self.ending.as_ref().and_then(|e| e.error.as_ref()),
            Some(Error::Io(e)) if matches!(e.kind(), BrokenPipe | ConnectionReset | ConnectionAborted)
        )
    }

    /// Reports the error, once, to a receiving caller.
    pub(super) fn poll_reporting(&mut self, goal: Goal) -> Option<Next> {
        if self.flags.app_behind() && goal.receives() {
            // The end is reported once the application has room for it.
            return Some(self.wait(goal));
        }
        if !goal.receives() {
            // A sender learns that nothing more can be sent; the error itself is reported
            // to the receiving side, once.
            return Some(Next::Ended(None));
        }
        // After a drain the write side is shut already; what is left is to close, which
        // needs no step of its own.
        self.flags.set_write_blocked(false);
        if self.flags.peer_gone() {
            self.phase = Phase::ShuttingDown;
        } else {
            self.handle_shutdown();
        }
        let error = self.ending.as_mut().and_then(|e| e.error.take());
        if goal == Goal::Closed
            && matches!(
                error,
                Some(Error::Connection(ConnectionError::CloseTimeout))
            )
        {
            // The close this end asked for is done: the peer just never answered it.
            return None;
        }
        Some(Next::Ended(error))
    }
}
