//! What a reconnecting client reports to the application, the same on every runtime.

use std::time::Duration;

use http::Response;

use super::backoff::{Decision, Stop};
use super::classify::Disconnect;
use crate::driver::Error;
use crate::message::Message;

/// One thing that happened to a reconnecting client, in order: a connection opened, a
/// message arrived, the connection dropped (and when the next attempt is), or the client
/// gave up.
#[derive(Debug)]
pub enum Reconnect {
    /// A connection opened, the first or a new one: subscribe (again) here. Carries the
    /// server's 101 response.
    Connected(Response<()>),
    /// A message (text, binary, ping or pong; the server's close frame is reported in the
    /// [`Reconnect::Disconnected`] or [`Reconnect::Stopped`] that follows it).
    Message(Message),
    /// The connection dropped, or an attempt failed; the next attempt is in `retry_in`.
    /// Messages sent until the next [`Reconnect::Connected`] are refused ([`NotSent`]).
    Disconnected {
        /// What happened.
        cause: Disconnect,
        /// How long until the next attempt.
        retry_in: Duration,
        /// Which failure in a row this is (1 for the first since the last stable connection).
        attempt: u32,
    },
    /// The client gave up: `cause` was fatal, or too many attempts failed. Nothing follows.
    Stopped {
        /// The last thing that happened.
        cause: Disconnect,
        /// Why the client does not try again.
        stop: Stop,
    },
}

impl Reconnect {
    /// The event that reports `cause` and the schedule's `decision` on it.
    pub fn after(cause: Disconnect, decision: Decision) -> Reconnect {
        match decision {
            Decision::Retry { delay, attempt, .. } => Reconnect::Disconnected {
                cause,
                retry_in: delay,
                attempt,
            },
            Decision::Stop(stop) => Reconnect::Stopped { cause, stop },
        }
    }
}

/// A message a reconnecting client did not send, given back so that the application can
/// keep it for the next connection or drop it. A reconnecting client does not buffer:
/// what to resend after a reconnect (and whether it is still relevant) is the
/// application's call.
#[derive(Debug)]
pub enum NotSent {
    /// No connection was open (between a drop and the next [`Reconnect::Connected`], or
    /// after the client stopped or was closed): nothing was written.
    Disconnected(Message),
    /// The connection failed while the message was being sent: it may or may not have
    /// reached the server. The drop is reported by the next `recv`.
    Failed {
        /// The message.
        message: Message,
        /// Why the send failed.
        error: Error,
    },
}

impl NotSent {
    /// The message, to send again later.
    pub fn into_message(self) -> Message {
        match self {
            NotSent::Disconnected(message) | NotSent::Failed { message, .. } => message,
        }
    }
}

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSent::Disconnected(_) => f.write_str("not connected: the message was not sent"),
            NotSent::Failed { error, .. } => write!(f, "sending failed: {error}"),
        }
    }
}

impl std::error::Error for NotSent {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NotSent::Disconnected(_) => None,
            NotSent::Failed { error, .. } => Some(error),
        }
    }
}
