//! What the core reports to the application.

use bytes::Bytes;

use crate::close::CloseFrame;

/// The kind of a data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// A piece of a text or binary message, as it arrived.
///
/// A message may come in several pieces: one per frame, or more when the core is asked for
/// data before a frame is complete. A text piece is valid UTF-8 as far as it goes, but may
/// end inside a code point that the next piece finishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// Text or binary.
    pub kind: MessageKind,
    /// The bytes, unmasked (and decompressed); often a slice of the read buffer.
    pub payload: Bytes,
    /// This piece is the first of its message.
    pub message_start: bool,
    /// This piece ends its frame.
    pub frame_end: bool,
    /// This piece ends its message.
    pub message_end: bool,
}

/// One thing that happened on the connection.
///
/// ```
/// use std::time::Instant;
/// use ropeway_core::{BytesMut, Config, Connection, Event};
///
/// let now = Instant::now();
/// let mut server = Connection::server(Config::default(), now);
/// // A masked ping with payload "hi" from a client.
/// let mut input = BytesMut::from(&[0x89, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2][..]);
/// assert_eq!(server.recv(&mut input).unwrap(), Some(Event::Ping("hi".into())));
/// assert_eq!(server.poll_transmit(now), &[0x8a, 2, b'h', b'i']); // the pong, already queued
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A piece of a text or binary message.
    Data(Data),
    /// The peer sent a ping. The core has already queued the pong.
    Ping(Bytes),
    /// The peer sent a pong.
    Pong(Bytes),
    /// The peer sent a close frame (`None` when it carried no status code). If this end had
    /// not sent one yet, the core has queued the reply with the same code and reason.
    Close(Option<CloseFrame>),
}
