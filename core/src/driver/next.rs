//! The words of the driver's contract: what the caller waits for ([`Goal`]) and the next
//! step the driver asks of it ([`Next`]).

use std::time::Instant;

use bytes::BytesMut;

use crate::close::CloseFrame;
use crate::event::{Event, MessageKind};
use crate::message::Message;

use super::error::Error;

/// What the caller is waiting for; the driver works towards it and reports it with
/// [`Next::Message`], [`Next::Event`] or [`Next::Ready`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// The next whole message (or ping, pong, close): reads, decodes and answers as needed.
    Message,
    /// The next raw [`Event`], pieces of messages as they arrive (for callers that assemble
    /// or stream themselves).
    Event,
    /// The next piece of a message, taken with [`super::Driver::take_piece`]. Pings and pongs
    /// are handled and skipped.
    Piece,
    /// Room to queue a data message: writes until the queued output is under its limit.
    /// Reads nothing, but timers keep running.
    SendReady,
    /// Everything queued written and flushed. Reads nothing, but timers keep running.
    Flushed,
    /// The end of the close handshake this end started: whatever the peer still sends is
    /// read and dropped until its close arrives and the transport ends. A peer that does not
    /// answer within the close timeout ends it too, without an error.
    Closed,
}

impl Goal {
    /// Whether this goal reads from the peer.
    pub(super) fn receives(self) -> bool {
        matches!(
            self,
            Goal::Message | Goal::Event | Goal::Piece | Goal::Closed
        )
    }
}

/// The next step, from [`super::Driver::poll`]. Steps that ask for I/O are answered with the
/// matching `handle_*` call before polling again.
#[derive(Debug)]
pub enum Next {
    /// A whole message, for [`Goal::Message`].
    Message(Message),
    /// An event, for [`Goal::Event`]; also the close for [`Goal::Piece`].
    Event(Event),
    /// The goal is reached: room to send, everything flushed, or a piece to take.
    Ready,
    /// Write the output ([`super::Driver::poll_transmit_with`] and its vectored and owned
    /// forms), then report [`super::Driver::handle_written`],
    /// [`super::Driver::handle_write_blocked`] or [`super::Driver::handle_io_error`].
    Write,
    /// Flush the transport (TLS records, a buffered writer), then report
    /// [`super::Driver::handle_flushed`], `handle_write_blocked` or `handle_io_error`.
    Flush,
    /// Read from the transport into [`super::Driver::read_into`], then report
    /// `handle_read`/`handle_read_slice` (0 bytes: end of stream),
    /// [`super::Driver::handle_read_blocked`] or `handle_io_error`.
    Read,
    /// A deadline is armed that the caller has not looked at yet: if it has passed, call
    /// [`super::Driver::handle_timeout`]; otherwise arm a wake-up for it and call
    /// [`super::Driver::handle_timer_pending`].
    Timer(Instant),
    /// Nothing to do until the transport becomes readable or writable (as flagged) or the
    /// deadline passes. A future returns `Pending` here; an event loop waits for readiness.
    Wait {
        /// Wake up when the transport is readable.
        read: bool,
        /// Wake up when the transport is writable.
        write: bool,
        /// Wake up at this time (already announced with [`Next::Timer`]).
        deadline: Option<Instant>,
    },
    /// The connection has done its share of work ([`crate::Config::work_budget`] events and
    /// reads)
    /// without waiting for input: let other connections run, then poll again. A future wakes
    /// its own waker and returns `Pending`; an event loop moves on and comes back to this
    /// connection on its next turn. Nothing needs reporting. Only goals that receive yield.
    Yield,
    /// Shut the transport down: `graceful` (TCP FIN, TLS close_notify, HTTP/2 END_STREAM)
    /// after a close handshake or a protocol error whose close frame went out; otherwise
    /// abort (drop the socket, RST_STREAM) because the peer is gone. Then report
    /// [`super::Driver::handle_shutdown`] (or `handle_write_blocked` while it is under way).
    Shutdown {
        /// A graceful end rather than an abort.
        graceful: bool,
    },
    /// The connection has ended: with the error that ended it (reported once), then `None`
    /// on every later poll. A sender seeing it knows nothing more can be sent.
    Ended(Option<Error>),
}

impl Next {
    /// What a receive call returns for this outcome of [`Goal::Message`]: the message, the
    /// error that ended the connection (once), or `None` at the end.
    pub fn into_message(self) -> Option<Result<Message, Error>> {
        match self {
            Next::Message(message) => Some(Ok(message)),
            Next::Ended(error) => error.map(Err),
            _ => None,
        }
    }

    /// What waiting for [`Goal::SendReady`] returns: room to send, or why there is none
    /// ([`Error::Closed`] once the connection no longer sends).
    pub fn into_send_ready(self) -> Result<(), Error> {
        match self {
            Next::Ended(Some(error)) => Err(error),
            Next::Ended(None) => Err(Error::Closed),
            _ => Ok(()),
        }
    }

    /// What waiting for [`Goal::Flushed`] or [`Goal::Closed`] returns: done, or the error
    /// that ended the connection on the way.
    pub fn into_done(self) -> Result<(), Error> {
        match self {
            Next::Ended(Some(error)) => Err(error),
            _ => Ok(()),
        }
    }
}

/// Where the next read goes, from [`super::Driver::read_into`].
#[derive(Debug)]
pub enum ReadInto<'a> {
    /// Nothing is buffered: read into the caller's own scratch (a stack array of
    /// [`super::READ_SCRATCH`] bytes, or an event loop's shared receive buffer) and report
    /// [`super::Driver::handle_read_slice`]. An idle connection so holds no buffer.
    Scratch,
    /// Read into the spare capacity of this buffer (room was made) and report
    /// [`super::Driver::handle_read`] with the count.
    Buffer(&'a mut BytesMut),
}

/// What [`super::Driver::take_piece`] put into the caller's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// `len` bytes of a text or binary message; `end_of_message` on its last piece.
    Data {
        /// Text or binary.
        kind: MessageKind,
        /// Bytes written to the buffer.
        len: usize,
        /// This piece ends the message.
        end_of_message: bool,
    },
    /// The peer closed the connection.
    Close(Option<CloseFrame>),
}
