//! What a split connection's write half hands to the task that drives the connection, and
//! the error of its non-waiting send. Shared so every runtime's write half behaves alike.

use std::fmt;

use ropeway_core::Bytes;
use ropeway_core::{Message, MessageKind, SendOptions, UsageError};

/// One item for the driving task: a whole message, or one fragment of a message being
/// streamed.
#[derive(Debug)]
pub enum Outbound {
    /// A message (or a ping, pong or close) with its options.
    Message(Message, SendOptions),
    /// One fragment of a text or binary message; `fin` ends it.
    Fragment {
        /// Text or binary (the kind of the message the fragment belongs to).
        kind: MessageKind,
        /// The fragment's payload.
        payload: Bytes,
        /// Whether this fragment ends the message.
        fin: bool,
    },
}

impl Outbound {
    /// The message inside, for an item that comes back from a channel unsent (a fragment
    /// comes back as the binary message of its payload).
    pub fn into_message(self) -> Message {
        match self {
            Outbound::Message(message, _) => message,
            Outbound::Fragment { payload, .. } => Message::Binary(payload),
        }
    }
}

/// Why a split write half's `try_send` did not queue a
/// message; the message comes back, so a broadcast loop can drop it, retry later or
/// disconnect the slow subscriber.
///
/// ```
/// use ropeway_common::TrySendError;
/// use ropeway_core::Message;
///
/// let error = TrySendError::Full(Message::text("tick"));
/// assert!(error.is_full());
/// assert_eq!(error.into_message(), Message::text("tick"));
/// ```
#[derive(Debug, PartialEq)]
pub enum TrySendError {
    /// The write half's queue is full: the peer (or the connection's output limit) is
    /// behind. Sending now would wait.
    Full(Message),
    /// The connection has ended; nothing more can be sent.
    Closed(Message),
    /// The message breaks the protocol's rules whatever the connection's state (a control
    /// payload over 125 bytes, a close code that may not be sent).
    Invalid(Message, UsageError),
}

impl TrySendError {
    /// The message that was not queued.
    pub fn into_message(self) -> Message {
        match self {
            TrySendError::Full(message)
            | TrySendError::Closed(message)
            | TrySendError::Invalid(message, _) => message,
        }
    }

    /// Whether the queue was full (rather than the connection ended).
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the write half's queue is full"),
            TrySendError::Closed(_) => f.write_str("the connection has ended"),
            TrySendError::Invalid(_, e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TrySendError {}
