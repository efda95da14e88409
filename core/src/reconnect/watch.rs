//! Following one open connection of a reconnecting client to its end: which results of its
//! `recv` go to the application and what the drop is reported as.

use super::classify::Disconnect;
use crate::driver::Error;
use crate::message::Message;

/// Watches the results of one connection's `recv`. Messages pass through; the server's close
/// frame or the error that ended the connection is kept, and the connection is read on
/// until its `recv` says it ended (so the close handshake completes and a protocol error's
/// close frame gets flushed), then the kept cause is the drop.
#[derive(Debug, Default)]
pub struct Watch {
    cause: Option<Disconnect>,
}

/// What to do with one result of the connection's `recv`.
#[derive(Debug)]
pub enum Seen {
    /// Hand this message to the application.
    Deliver(Message),
    /// Nothing for the application: read on.
    ReadOn,
    /// The connection ended: report `Disconnect` and ask the schedule.
    Ended(Disconnect),
}

impl Watch {
    /// A watch over a connection that just opened.
    pub fn new() -> Watch {
        Watch::default()
    }

    /// Takes one result of the connection's `recv` (`None`: it ended).
    pub fn recv(&mut self, item: Option<Result<Message, Error>>) -> Seen {
        match item {
            Some(Ok(Message::Close(frame))) => {
                self.cause.get_or_insert(Disconnect::Closed(frame));
                Seen::ReadOn
            }
            Some(Ok(message)) => Seen::Deliver(message),
            Some(Err(error)) => {
                self.cause.get_or_insert(Disconnect::Failed(error));
                Seen::ReadOn
            }
            // Ended without a word: the transport closed after a clean close we missed.
            None => Seen::Ended(
                self.cause
                    .take()
                    .unwrap_or(Disconnect::Failed(Error::Closed)),
            ),
        }
    }
}
