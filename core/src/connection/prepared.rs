//! Encode once, send to many: a data message framed once and queued on any number of
//! connections without encoding it again (gorilla/websocket's `PreparedMessage`).

use bytes::Bytes;

use crate::event::MessageKind;
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};

/// A text or binary message framed once, to broadcast to many connections.
///
/// A server queues the same frame bytes on every connection ([`Connection::send_prepared`](super::Connection::send_prepared)):
/// no encoding per connection, and no copy at all for large messages. Two cases cannot share
/// the frame and encode it per connection from the payload instead: a client (every frame is
/// masked with a key of its own) and a connection whose permessage-deflate compresses the
/// message (its compressor's window is its own with context takeover). Send with
/// `SendOptions { compress: false }` to share the frame on compressing connections too.
///
/// ```
/// use std::time::Instant;
/// use ropeway_core::connection::PreparedMessage;
/// use ropeway_core::{Config, Connection, MessageKind, SendOptions};
///
/// let prepared = PreparedMessage::new(MessageKind::Text, "news for everyone".into());
/// let now = Instant::now();
/// let mut subscribers: Vec<_> = (0..3).map(|_| Connection::server(Config::default(), now)).collect();
/// for conn in &mut subscribers {
///     conn.send_prepared(&prepared, SendOptions::default()).unwrap();
///     assert_eq!(conn.poll_transmit(now), prepared.frame());
/// }
/// ```
#[derive(Clone, Debug)]
pub struct PreparedMessage {
    kind: MessageKind,
    payload: Bytes,
    /// The whole unmasked frame: header and payload.
    frame: Bytes,
}

impl PreparedMessage {
    /// Frames `payload` as one unmasked text or binary frame. Text must be valid UTF-8.
    pub fn new(kind: MessageKind, payload: Bytes) -> Self {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: match kind {
                MessageKind::Text => OpCode::Text,
                MessageKind::Binary => OpCode::Binary,
            },
            mask: None,
            payload_len: payload.len() as u64,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let mut frame = Vec::with_capacity(head_len + payload.len());
        frame.extend_from_slice(&head[..head_len]);
        frame.extend_from_slice(&payload);
        PreparedMessage {
            kind,
            payload,
            frame: frame.into(),
        }
    }

    /// A text message, framed once.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(MessageKind::Text, Bytes::from(text.into()))
    }

    /// A binary message, framed once.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Self::new(MessageKind::Binary, bytes.into())
    }

    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The encoded frame, as a server sends it.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }
}
