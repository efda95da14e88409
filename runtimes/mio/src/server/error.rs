//! What a send from the loop reports.

use std::fmt;

use ropeway_core::Error;

use super::handle::HandleError;

/// Why [`super::Context::send`] (and its kin) did not queue a message.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// No open connection has this id: it ended, is closing, or is still in its handshake.
    NotOpen,
    /// The connection's queued output is at its limit and the policy is
    /// [`super::SlowConsumer::Drop`]: the message was dropped, the connection stays.
    Dropped,
    /// The connection's queued output is at its limit and the policy is
    /// [`super::SlowConsumer::Close`]: the connection is being closed with its code.
    SlowConsumerClosed,
    /// The message is not allowed (a control payload over 125 bytes, a close code the
    /// application may not send, a message started inside a fragmented one).
    Invalid(Error),
    /// The id is on another loop, and queueing for that loop failed.
    Queue(HandleError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotOpen => f.write_str("no open connection has this id"),
            SendError::Dropped => f.write_str("dropped: the connection's queued output is full"),
            SendError::SlowConsumerClosed => {
                f.write_str("the connection's queued output is full: closing it")
            }
            SendError::Invalid(e) => write!(f, "{e}"),
            SendError::Queue(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Invalid(e) => Some(e),
            SendError::Queue(e) => Some(e),
            _ => None,
        }
    }
}
