//! Whole messages, the unit most applications send and receive, and the assembler that
//! joins data pieces into them. Shared by every runtime adapter.

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::close::CloseFrame;
use crate::error::UsageError;
use crate::event::{Data, Event, MessageKind};
use crate::frame::MAX_CONTROL_PAYLOAD;

/// Bytes known to be valid UTF-8 (validated by the core as they arrived), shared without
/// copying.
///
/// ```
/// use ropeway_core::{Bytes, Utf8Bytes};
///
/// let text = Utf8Bytes::try_from_bytes(Bytes::from_static("grüße".as_bytes())).unwrap();
/// assert_eq!(text.as_str(), "grüße");
/// assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(&[0xff])).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Checks `bytes` and wraps them.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }

    /// The text. Re-checking is cheap next to copying into a `String`, and keeps this crate
    /// free of `unsafe`.
    pub fn as_str(&self) -> &str {
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::ops::Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<&'static str> for Message {
    fn from(s: &'static str) -> Self {
        Message::Text(Utf8Bytes(Bytes::from_static(s.as_bytes())))
    }
}

impl From<String> for Message {
    /// A text message.
    fn from(s: String) -> Self {
        Message::Text(Utf8Bytes::from(s))
    }
}

impl From<Vec<u8>> for Message {
    /// A binary message.
    fn from(bytes: Vec<u8>) -> Self {
        Message::Binary(Bytes::from(bytes))
    }
}

impl From<Bytes> for Message {
    /// A binary message, without copying.
    fn from(bytes: Bytes) -> Self {
        Message::Binary(bytes)
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole message, or a control frame.
///
/// ```
/// use ropeway_core::{Bytes, Message};
///
/// let text = Message::text("hello");
/// assert!(text.is_text() && text.is_data());
/// assert_eq!(text.as_text(), Some("hello"));
///
/// let binary: Message = vec![1, 2, 3].into(); // From<Vec<u8>>, From<Bytes>, From<String> too
/// assert!(binary.is_binary());
/// assert_eq!(binary.into_data(), Bytes::from_static(&[1, 2, 3]));
///
/// // Control frames are messages too; their payload is checked before sending.
/// assert!(Message::Ping(vec![0; 126].into()).check().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping (received: already answered; sent: the peer answers with a pong).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame (`None`: no status code).
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    ///
    /// ```
    /// use ropeway_core::Message;
    /// assert_eq!(Message::text(String::from("hi")), Message::text("hi"));
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Message::Text(Utf8Bytes::from(text.into()))
    }

    /// A binary message.
    ///
    /// ```
    /// use ropeway_core::Message;
    /// assert_eq!(Message::binary(&b"\x01\x02"[..]).into_data().len(), 2);
    /// ```
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Message::Binary(bytes.into())
    }

    /// Whether this is a text or binary message (not a control frame).
    ///
    /// ```
    /// use ropeway_core::Message;
    /// assert!(Message::text("a").is_data());
    /// assert!(!Message::Pong(Default::default()).is_data());
    /// ```
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// Whether this is a text message.
    ///
    /// ```
    /// use ropeway_core::Message;
    /// assert!(Message::from("hi".to_string()).is_text());
    /// ```
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    ///
    /// ```
    /// use ropeway_core::Message;
    /// assert!(Message::from(vec![0u8]).is_binary());
    /// ```
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The text of a text message.
    ///
    /// ```
    /// use ropeway_core::Message;
    /// assert_eq!(Message::text("hi").as_text(), Some("hi"));
    /// assert_eq!(Message::binary(vec![1]).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The payload of any message, without copying (a close frame's is empty).
    ///
    /// ```
    /// use ropeway_core::{Bytes, Message};
    /// assert_eq!(Message::text("hi").into_data(), Bytes::from_static(b"hi"));
    /// assert_eq!(Message::from(vec![1, 2]).into_data(), Bytes::from_static(&[1, 2]));
    /// ```
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes,
            Message::Close(_) => Bytes::new(),
        }
    }

    /// The usage errors this message has whatever the connection's state: a control payload
    /// over 125 bytes, a close code or reason that may not be sent. Lets a message be checked
    /// before it is handed to another task, so the error reaches its sender.
    ///
    /// ```
    /// use ropeway_core::{CloseFrame, Message, UsageError};
    /// assert_eq!(
    ///     Message::Close(Some(CloseFrame::new(1005, ""))).check(),
    ///     Err(UsageError::InvalidCloseCode(1005)) // 1005 is never sent on the wire
    /// );
    /// assert!(Message::text("x".repeat(1 << 20)).check().is_ok()); // data has no such limit
    /// ```
    pub fn check(&self) -> Result<(), UsageError> {
        match self {
            Message::Ping(p) | Message::Pong(p) => check_control_payload(p),
            Message::Close(Some(frame)) => frame.check(),
            _ => Ok(()),
        }
    }
}

/// A control frame's payload fits in 125 bytes.
pub(crate) fn check_control_payload(payload: &[u8]) -> Result<(), UsageError> {
    if payload.len() > MAX_CONTROL_PAYLOAD {
        return Err(UsageError::ControlPayloadTooLong(payload.len()));
    }
    Ok(())
}

/// Joins [`Data`] pieces into whole messages. A message that arrives as one piece (the usual
/// case) is passed through without a copy. The core has already enforced the message size
/// limit, so the assembly buffer is bounded by it.
///
/// ```
/// use ropeway_core::{Bytes, Data, Event, Message, MessageKind, Assembler};
///
/// let piece = |payload: &'static [u8], start, end| Event::Data(Data {
///     kind: MessageKind::Text,
///     payload: Bytes::from_static(payload),
///     message_start: start,
///     frame_end: true,
///     message_end: end,
/// });
/// let mut assembler = Assembler::new();
/// assert_eq!(assembler.push(piece(b"hel", true, false)), None);
/// assert_eq!(assembler.push(piece(b"lo", false, true)), Some(Message::text("hello")));
/// ```
#[derive(Debug, Default)]
pub struct Assembler {
    /// The fragments of an unfinished message. Boxed: most messages arrive whole, and an
    /// idle connection carries this slot.
    parts: Option<Box<BytesMut>>,
}

impl Assembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Assembler::default()
    }

    /// Takes the next event; returns a message once one is complete.
    pub fn push(&mut self, event: Event) -> Option<Message> {
        match event {
            Event::Data(data) => self.push_data(data),
            Event::Ping(p) => Some(Message::Ping(p)),
            Event::Pong(p) => Some(Message::Pong(p)),
            Event::Close(frame) => Some(Message::Close(frame)),
        }
    }

    fn push_data(&mut self, data: Data) -> Option<Message> {
        let payload = if data.message_start && data.message_end {
            data.payload
        } else {
            let parts = self.parts.get_or_insert_with(Box::default);
            parts.extend_from_slice(&data.payload);
            if !data.message_end {
                return None;
            }
            // Hand out the whole buffer; hold nothing between messages.
            self.parts.take().map_or_else(Bytes::new, |p| p.freeze())
        };
        Some(match data.kind {
            MessageKind::Text => Message::Text(Utf8Bytes(payload)),
            MessageKind::Binary => Message::Binary(payload),
        })
    }

    /// Whether a message is half joined (its first fragments arrived, its last not yet).
    pub fn is_assembling(&self) -> bool {
        self.parts.is_some()
    }

    /// Bytes of an unfinished message held.
    pub fn buffered(&self) -> usize {
        self.parts.as_ref().map_or(0, |p| p.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(kind: MessageKind, payload: &'static [u8], start: bool, end: bool) -> Event {
        Event::Data(Data {
            kind,
            payload: Bytes::from_static(payload),
            message_start: start,
            frame_end: true,
            message_end: end,
        })
    }

    #[test]
    fn single_pieces_pass_through_and_fragments_join() {
        let mut a = Assembler::new();
        let whole = a.push(piece(MessageKind::Binary, b"abc", true, true));
        assert_eq!(whole, Some(Message::Binary(Bytes::from_static(b"abc"))));
        assert_eq!(
            a.push(piece(MessageKind::Text, "h\u{e9}".as_bytes(), true, false)),
            None
        );
        assert_eq!(
            a.push(Event::Ping(Bytes::new())),
            Some(Message::Ping(Bytes::new()))
        );
        let joined = a.push(piece(MessageKind::Text, b"llo", false, true));
        assert_eq!(joined, Some(Message::text("h\u{e9}llo")));
        assert_eq!(a.buffered(), 0);
    }

    #[test]
    fn utf8_bytes_behave_like_str() {
        let t = Utf8Bytes::from("κόσμε");
        assert_eq!(&*t, "κόσμε");
        assert_eq!(t.to_string(), "κόσμε");
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"\xff")).is_err());
    }
}
