//! What a split connection's driving task hands to the read half, and how the read half
//! turns it into whole messages or into pieces. Shared so every runtime's read half behaves
//! alike; the runtimes only move items through their channels.

use ropeway_core::driver::Piece;
use ropeway_core::{Bytes, BytesMut, Data, Error, Message, MessageKind, Utf8Bytes};

/// One item for the read half.
#[derive(Debug)]
pub enum Inbound {
    /// A whole message (the read half asked for messages), or a close while it asked for
    /// pieces.
    Message(Message),
    /// Part of a text or binary message (the read half asked for pieces), straight from the
    /// driver without a copy.
    Piece(Data),
}

/// The read half's state between calls: the rest of a message or piece handed out in parts
/// by `recv_piece`, and the parts of a message that `recv` is joining from pieces.
#[derive(Debug, Default)]
pub struct ReadState {
    /// Bytes of the current item not yet copied out by `recv_piece`.
    rest: Option<Rest>,
    /// Pieces `recv` is joining into a message (pieces queued before it was called).
    joining: Option<(MessageKind, BytesMut)>,
}

#[derive(Debug)]
struct Rest {
    kind: MessageKind,
    bytes: Bytes,
    end_of_message: bool,
}

/// What the read half does with an item.
#[derive(Debug)]
pub enum Step<T> {
    /// Hand this out.
    Ready(T),
    /// Take the next item from the channel.
    More,
}

impl ReadState {
    /// `recv` after `recv_piece` stopped inside an item: the rest as a message if it ends
    /// one, else kept to be joined with the pieces that follow.
    pub fn rest_as_message(&mut self) -> Option<Result<Message, Error>> {
        let rest = self.rest.take()?;
        if rest.end_of_message {
            return Some(to_message(rest.kind, rest.bytes));
        }
        self.joining = Some((rest.kind, BytesMut::from(&rest.bytes[..])));
        None
    }

    /// `recv`: turns items into whole messages (pieces queued before `recv` was called are
    /// joined; the core has already bounded their total by the message size limit).
    pub fn message(&mut self, item: Result<Inbound, Error>) -> Step<Result<Message, Error>> {
        let data = match item {
            Err(e) => return Step::Ready(Err(e)),
            Ok(Inbound::Message(message)) => return Step::Ready(Ok(message)),
            Ok(Inbound::Piece(data)) => data,
        };
        let (kind, mut parts) = self
            .joining
            .take()
            .unwrap_or_else(|| (data.kind, BytesMut::new()));
        parts.extend_from_slice(&data.payload);
        if !data.message_end {
            self.joining = Some((kind, parts));
            return Step::More;
        }
        Step::Ready(to_message(kind, parts.freeze()))
    }

    /// `recv_piece`: the rest of the current item, if any, copied into `buf`.
    pub fn take_rest(&mut self, buf: &mut [u8]) -> Option<Piece> {
        let rest = self.rest.as_mut()?;
        let len = rest.bytes.len().min(buf.len());
        buf[..len].copy_from_slice(&rest.bytes.split_to(len));
        let done = rest.bytes.is_empty();
        let piece = Piece::Data {
            kind: rest.kind,
            len,
            end_of_message: done && rest.end_of_message,
        };
        if done {
            self.rest = None;
        }
        Some(piece)
    }

    /// `recv_piece`: starts handing out `item` in parts (call [`ReadState::take_rest`] next);
    /// a close is handed out at once, pings and pongs are skipped.
    pub fn piece(&mut self, item: Result<Inbound, Error>) -> Step<Result<Piece, Error>> {
        let (kind, bytes, end_of_message) = match item {
            Err(e) => return Step::Ready(Err(e)),
            Ok(Inbound::Piece(data)) => (data.kind, data.payload, data.message_end),
            Ok(Inbound::Message(Message::Text(text))) => {
                (MessageKind::Text, text.into_bytes(), true)
            }
            Ok(Inbound::Message(Message::Binary(bytes))) => (MessageKind::Binary, bytes, true),
            Ok(Inbound::Message(Message::Close(frame))) => {
                return Step::Ready(Ok(Piece::Close(frame)));
            }
            Ok(Inbound::Message(Message::Ping(_) | Message::Pong(_))) => return Step::More,
        };
        if bytes.is_empty() && !end_of_message {
            return Step::More;
        }
        self.rest = Some(Rest {
            kind,
            bytes,
            end_of_message,
        });
        Step::More
    }
}

/// A joined message; text was checked as it arrived, so this check only fails if a text
/// message was split inside a character by a piece boundary and not finished.
fn to_message(kind: MessageKind, bytes: Bytes) -> Result<Message, Error> {
    match kind {
        MessageKind::Binary => Ok(Message::Binary(bytes)),
        MessageKind::Text => Utf8Bytes::try_from_bytes(bytes)
            .map(Message::Text)
            .map_err(|_| {
                Error::Connection(ropeway_core::ConnectionError::Protocol(
                    ropeway_core::ProtocolError::InvalidUtf8,
                ))
            }),
    }
}
