//! The envelope a message travels in between servers: who sent it, who it is for, and the
//! message. A compact binary layout, bytes in and bytes out:
//!
//! ```text
//! version (1) · origin server (8) · target tag (1) · target fields · kind (1) · payload
//! target fields: All: none; AllExcept, Connection: server (8), connection (8);
//!                Group: name length (2), name; GroupExcept: name length (2), name, server (8), connection (8)
//! ```
//! Integers are big-endian. Anything a backplane hands over may come from anyone who can
//! publish on its channels, so decoding checks everything and says what was wrong.

use bytes::Bytes;

use super::{GlobalId, ServerId, Target};
use crate::event::MessageKind;

/// The layout's version; an envelope of another version is refused, not guessed at.
const VERSION: u8 = 1;

const ALL: u8 = 0;
const ALL_EXCEPT: u8 = 1;
const GROUP: u8 = 2;
const GROUP_EXCEPT: u8 = 3;
const CONNECTION: u8 = 4;

const TEXT: u8 = 1;
const BINARY: u8 = 2;

/// The longest group name an envelope carries (its length field is two bytes).
pub const MAX_GROUP_NAME: usize = u16::MAX as usize;

/// A message on its way between servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The server that published it.
    pub origin: ServerId,
    /// Who it is for.
    pub target: Target,
    /// Text or binary.
    pub kind: MessageKind,
    /// The message's payload (valid UTF-8 for text).
    pub payload: Bytes,
}

/// Why bytes from a backplane are not an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The bytes end before the envelope does.
    Truncated,
    /// Another layout version (a newer or foreign publisher on the channel).
    Version(u8),
    /// An unknown target tag.
    Target(u8),
    /// An unknown message kind.
    Kind(u8),
    /// A group name that is not UTF-8.
    GroupName,
    /// A text message that is not UTF-8.
    Text,
    /// Larger than the receiver's limit.
    TooLarge {
        /// The envelope's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeError::Truncated => write!(f, "backplane envelope truncated"),
            EnvelopeError::Version(v) => write!(f, "backplane envelope of unknown version {v}"),
            EnvelopeError::Target(t) => write!(f, "backplane envelope with unknown target {t}"),
            EnvelopeError::Kind(k) => write!(f, "backplane envelope with unknown kind {k}"),
            EnvelopeError::GroupName => write!(f, "backplane envelope's group is not UTF-8"),
            EnvelopeError::Text => write!(f, "backplane envelope's text is not UTF-8"),
            EnvelopeError::TooLarge { size, limit } => {
                write!(
                    f,
                    "backplane envelope of {size} bytes over the {limit} byte limit"
                )
            }
        }
    }
}

impl std::error::Error for EnvelopeError {}

impl Envelope {
    /// The envelope as bytes. A group name longer than [`MAX_GROUP_NAME`] is cut there (at
    /// a character boundary); group names that long are not names.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.payload.len());
        out.push(VERSION);
        out.extend_from_slice(&self.origin.0.to_be_bytes());
        match &self.target {
            Target::All => out.push(ALL),
            Target::AllExcept(id) => {
                out.push(ALL_EXCEPT);
                put_id(&mut out, id);
            }
            Target::Group(name) => {
                out.push(GROUP);
                put_name(&mut out, name);
            }
            Target::GroupExcept(name, id) => {
                out.push(GROUP_EXCEPT);
                put_name(&mut out, name);
                put_id(&mut out, id);
            }
            Target::Connection(id) => {
                out.push(CONNECTION);
                put_id(&mut out, id);
            }
        }
        out.push(match self.kind {
            MessageKind::Text => TEXT,
            MessageKind::Binary => BINARY,
        });
        out.extend_from_slice(&self.payload);
        out
    }

    /// Reads an envelope, refusing one of more than `limit` bytes.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Envelope, EnvelopeError> {
        if bytes.len() > limit {
            return Err(EnvelopeError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        let mut reader = Reader(bytes);
        let version = reader.u8()?;
        if version != VERSION {
            return Err(EnvelopeError::Version(version));
        }
        let origin = ServerId(reader.u64()?);
        let target = match reader.u8()? {
            ALL => Target::All,
            ALL_EXCEPT => Target::AllExcept(reader.id()?),
            GROUP => Target::Group(reader.name()?),
            GROUP_EXCEPT => {
                let name = reader.name()?;
                Target::GroupExcept(name, reader.id()?)
            }
            CONNECTION => Target::Connection(reader.id()?),
            other => return Err(EnvelopeError::Target(other)),
        };
        let kind = match reader.u8()? {
            TEXT => MessageKind::Text,
            BINARY => MessageKind::Binary,
            other => return Err(EnvelopeError::Kind(other)),
        };
        let payload = reader.0;
        if kind == MessageKind::Text && simdutf8::basic::from_utf8(payload).is_err() {
            return Err(EnvelopeError::Text);
        }
        Ok(Envelope {
            origin,
            target,
            kind,
            payload: Bytes::copy_from_slice(payload),
        })
    }
}

fn put_id(out: &mut Vec<u8>, id: &GlobalId) {
    out.extend_from_slice(&id.server.0.to_be_bytes());
    out.extend_from_slice(&id.connection.to_be_bytes());
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let mut end = name.len().min(MAX_GROUP_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as u16).to_be_bytes());
    out.extend_from_slice(&name.as_bytes()[..end]);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], EnvelopeError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(EnvelopeError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, EnvelopeError> {
        Ok(self.take::<1>()?[0])
    }

    fn u64(&mut self) -> Result<u64, EnvelopeError> {
        Ok(u64::from_be_bytes(self.take()?))
    }

    fn id(&mut self) -> Result<GlobalId, EnvelopeError> {
        Ok(GlobalId {
            server: ServerId(self.u64()?),
            connection: self.u64()?,
        })
    }

    fn name(&mut self) -> Result<String, EnvelopeError> {
        let len = u16::from_be_bytes(self.take()?) as usize;
        if self.0.len() < len {
            return Err(EnvelopeError::Truncated);
        }
        let (name, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(name.to_vec()).map_err(|_| EnvelopeError::GroupName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(server: u64, connection: u64) -> GlobalId {
        GlobalId {
            server: ServerId(server),
            connection,
        }
    }

    #[test]
    fn every_target_round_trips() {
        for target in [
            Target::All,
            Target::AllExcept(id(7, 9)),
            Target::Group("lobby".into()),
            Target::GroupExcept("λ-room".into(), id(1, u64::MAX)),
            Target::Connection(id(u64::MAX, 3)),
        ] {
            for kind in [MessageKind::Text, MessageKind::Binary] {
                let envelope = Envelope {
                    origin: ServerId(42),
                    target: target.clone(),
                    kind,
                    payload: Bytes::from_static(b"hello"),
                };
                let bytes = envelope.encode();
                assert_eq!(Envelope::decode(&bytes, 1 << 20), Ok(envelope));
            }
        }
    }

    #[test]
    fn every_cut_of_an_envelope_is_refused_not_misread() {
        let envelope = Envelope {
            origin: ServerId(1),
            target: Target::GroupExcept("room".into(), id(2, 3)),
            kind: MessageKind::Binary,
            payload: Bytes::new(),
        };
        let bytes = envelope.encode();
        for cut in 0..bytes.len() {
            assert_eq!(
                Envelope::decode(&bytes[..cut], 1 << 20),
                Err(EnvelopeError::Truncated),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn foreign_and_broken_envelopes_say_what_is_wrong() {
        let good = Envelope {
            origin: ServerId(1),
            target: Target::All,
            kind: MessageKind::Text,
            payload: Bytes::from_static(b"hi"),
        }
        .encode();
        let mut version = good.clone();
        version[0] = 9;
        assert_eq!(
            Envelope::decode(&version, 64),
            Err(EnvelopeError::Version(9))
        );
        let mut target = good.clone();
        target[9] = 77;
        assert_eq!(
            Envelope::decode(&target, 64),
            Err(EnvelopeError::Target(77))
        );
        let mut kind = good.clone();
        kind[10] = 5;
        assert_eq!(Envelope::decode(&kind, 64), Err(EnvelopeError::Kind(5)));
        let mut text = good.clone();
        text[11] = 0xff;
        assert_eq!(Envelope::decode(&text, 64), Err(EnvelopeError::Text));
        assert_eq!(
            Envelope::decode(&good, 4),
            Err(EnvelopeError::TooLarge {
                size: good.len(),
                limit: 4
            })
        );
    }

    #[test]
    fn channels_are_named_per_all_group_and_server() {
        let to = id(0xab, 1);
        assert_eq!(super::super::channel("app", &Target::All), "app:all");
        assert_eq!(
            super::super::channel("app", &Target::AllExcept(to)),
            "app:all"
        );
        assert_eq!(
            super::super::channel("app", &Target::Group("room".into())),
            "app:group:room"
        );
        assert_eq!(
            super::super::channel("app", &Target::Connection(to)),
            "app:server:00000000000000ab"
        );
    }
}
