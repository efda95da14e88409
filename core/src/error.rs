//! Errors, split by who caused them.
//!
//! * [`ProtocolError`]: the peer broke RFC 6455. Each knows the close code it is answered with.
//! * [`UsageError`]: the application called the API in a way the protocol does not allow.
//! * [`ConnectionError`]: why a connection ended other than by a clean close handshake.
//!
//! Handshake errors live in [`crate::handshake::HandshakeError`].

use std::fmt;

use crate::close::CloseCode;

/// The peer broke the protocol. The connection fails: the core queues a close frame with
/// [`ProtocolError::close_code`] and refuses further input.
///
/// ```
/// use ropeway_core::{CloseCode, ProtocolError};
///
/// assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode::INVALID_PAYLOAD); // 1007
/// assert_eq!(ProtocolError::UnmaskedFrame.close_code(), CloseCode::PROTOCOL_ERROR); // 1002
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode reserved for future use (3–7, 11–15).
    ReservedOpcode(u8),
    /// An RSV bit that no negotiated extension claims.
    ReservedBits(u8),
    /// RSV bits on a control frame that the negotiated extension claims for data frames:
    /// control frames are never compressed or otherwise transformed (RFC 7692 §6.1).
    ControlFrameReservedBits(u8),
    /// RSV bits the negotiated extension claims, on a continuation frame: they belong on the
    /// first frame of a message only (RFC 7692 §6.1 for permessage-deflate's RSV1).
    ContinuationReservedBits(u8),
    /// A control frame with FIN clear: control frames are never fragmented.
    FragmentedControlFrame,
    /// A control frame with a payload over 125 bytes.
    ControlFrameTooLong(u64),
    /// A payload length in a longer encoding than needed (RFC 6455 §5.2), such as a control
    /// frame's length of at most 125 in the 16-bit form.
    NonMinimalLength,
    /// A 64-bit payload length with its most significant bit set, which RFC 6455 §5.2
    /// requires to be 0.
    LengthMsbSet,
    /// A client sent an unmasked frame.
    UnmaskedFrame,
    /// A server sent a masked frame.
    MaskedFrame,
    /// A continuation frame without a message to continue.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was unfinished.
    ExpectedContinuation,
    /// A text message that is not valid UTF-8.
    InvalidUtf8,
    /// A close frame whose reason is not valid UTF-8 (RFC 6455 §5.5.1, answered with 1007
    /// like invalid text, but named apart: no text message was involved).
    InvalidCloseReason,
    /// A close frame with a one-byte payload.
    TruncatedClosePayload,
    /// A close frame with a status code not allowed on the wire.
    InvalidCloseCode(u16),
    /// A frame whose payload is over the configured limit.
    FrameTooLarge {
        /// The frame's payload length.
        len: u64,
        /// The configured limit.
        max: usize,
    },
    /// The server's memory budget ([`crate::budget::MemoryBudget`]) was spent, and this
    /// connection needed more than its share to read on (answered with 1013, try again
    /// later: this side's state, not the peer's fault).
    OverBudget {
        /// The budget, in bytes.
        limit: usize,
    },
    /// A message whose (decompressed) size went over the configured limit.
    MessageTooLarge {
        /// The configured limit.
        max: usize,
    },
    /// Compressed messages inflated to more than the configured ratio of the compressed
    /// bytes received, beyond the connection's burst (a decompression bomb; see
    /// `DeflateConfig::max_inflate_ratio`).
    InflateRatio {
        /// Output bytes allowed per compressed byte.
        ratio: u32,
        /// Output allowed beyond the ratio.
        burst: usize,
    },
    /// An extension rejected the data (for example corrupt compressed data).
    Extension(String),
}

impl ProtocolError {
    /// Whether the peer went over one of this side's limits ([`crate::Limits`]: a frame or
    /// message too large; with compression, the inflate ratio; answered with 1009) rather
    /// than breaking the RFC. Raise the limit if such messages are expected.
    ///
    /// ```
    /// use ropeway_core::{ConnectionError, ProtocolError};
    ///
    /// let error = ConnectionError::Protocol(ProtocolError::MessageTooLarge { max: 1024 });
    /// assert!(matches!(&error, ConnectionError::Protocol(e) if e.is_over_limit()));
    /// assert_eq!(error.close_code(), ropeway_core::CloseCode::MESSAGE_TOO_BIG);
    /// assert_eq!(error.to_string(), "message over the limit of 1024 bytes (closed with 1009)");
    /// ```
    pub fn is_over_limit(&self) -> bool {
        matches!(
            self,
            ProtocolError::FrameTooLarge { .. }
                | ProtocolError::MessageTooLarge { .. }
                | ProtocolError::InflateRatio { .. }
                | ProtocolError::OverBudget { .. }
        )
    }

    /// The close code this error is answered with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCloseReason => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge { .. }
            | ProtocolError::MessageTooLarge { .. }
            | ProtocolError::InflateRatio { .. } => CloseCode::MESSAGE_TOO_BIG,
            ProtocolError::OverBudget { .. } => CloseCode::TRY_AGAIN_LATER,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::ReservedBits(bits) => {
                write!(
                    f,
                    "RSV bits {bits:#05b} set without an extension that claims them"
                )
            }
            ProtocolError::ControlFrameReservedBits(bits) => write!(
                f,
                "RSV bits {bits:#05b} on a control frame: control frames are never compressed"
            ),
            ProtocolError::ContinuationReservedBits(bits) => write!(
                f,
                "{} set on a continuation frame: only the first frame of a message carries it",
                rsv_names(*bits)
            ),
            ProtocolError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            ProtocolError::ControlFrameTooLong(len) => {
                write!(f, "control frame payload of {len} bytes (at most 125)")
            }
            ProtocolError::NonMinimalLength => f.write_str("payload length not minimally encoded"),
            ProtocolError::LengthMsbSet => {
                f.write_str("most significant bit of the 64-bit payload length is set")
            }
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from a server"),
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message to continue")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new data frame inside an unfinished fragmented message")
            }
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            ProtocolError::InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
            ProtocolError::TruncatedClosePayload => f.write_str("close payload of one byte"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "close code {code} not allowed"),
            ProtocolError::FrameTooLarge { len, max } => {
                write!(f, "frame payload of {len} bytes over the limit of {max}")
            }
            ProtocolError::MessageTooLarge { max } => {
                write!(f, "message over the limit of {max} bytes")
            }
            ProtocolError::OverBudget { limit } => write!(
                f,
                "the server's memory budget of {limit} bytes is spent: no room to read on"
            ),
            ProtocolError::InflateRatio { ratio, burst } => write!(
                f,
                "compressed messages inflate to more than {ratio} times their size (beyond a burst of {burst} bytes)"
            ),
            ProtocolError::Extension(msg) => write!(f, "extension error: {msg}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// The RSV bits in `bits` (RSV1 in bit 2) by name, as RFC 6455 and RFC 7692 call them.
fn rsv_names(bits: u8) -> &'static str {
    match bits & 0b111 {
        0b100 => "RSV1",
        0b010 => "RSV2",
        0b001 => "RSV3",
        0b110 => "RSV1 and RSV2",
        0b101 => "RSV1 and RSV3",
        0b011 => "RSV2 and RSV3",
        0b111 => "RSV1, RSV2 and RSV3",
        _ => "no RSV bit",
    }
}

/// The application used the API in a way the protocol does not allow. Nothing was queued.
///
/// ```
/// use std::time::Instant;
/// use ropeway_core::{Config, Connection, UsageError};
///
/// let mut conn = Connection::server(Config::default(), Instant::now());
/// assert_eq!(conn.ping(&[0; 126]), Err(UsageError::ControlPayloadTooLong(126)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// A close frame was already queued: no more data or pings may follow it.
    AlreadyClosing,
    /// A ping, pong or close payload over 125 bytes.
    ControlPayloadTooLong(usize),
    /// A close code the application may not send (1005, 1006, 1015 and unassigned ranges).
    InvalidCloseCode(u16),
    /// A close reason over 123 bytes.
    CloseReasonTooLong(usize),
    /// A new message was started while a fragmented one was still being sent.
    MessageInProgress,
    /// A continuation fragment was sent with no message started, or of the other kind.
    NoMessageInProgress,
    /// The queued output is over its limit: flush before sending more.
    OutputFull {
        /// Bytes queued.
        queued: usize,
        /// The configured limit.
        max: usize,
    },
    /// The connection has failed or ended; the error it ended with is reported by `recv`.
    ConnectionEnded,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::AlreadyClosing => f.write_str("a close frame was already sent"),
            UsageError::ControlPayloadTooLong(len) => {
                write!(f, "control payload of {len} bytes (at most 125)")
            }
            UsageError::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            UsageError::CloseReasonTooLong(len) => {
                write!(f, "close reason of {len} bytes (at most 123)")
            }
            UsageError::MessageInProgress => {
                f.write_str("a fragmented message is still being sent")
            }
            UsageError::NoMessageInProgress => {
                f.write_str("no fragmented message of this kind is being sent")
            }
            UsageError::OutputFull { queued, max } => {
                write!(
                    f,
                    "{queued} bytes queued, over the limit of {max}: flush first"
                )
            }
            UsageError::ConnectionEnded => f.write_str("the connection has ended"),
        }
    }
}

impl std::error::Error for UsageError {}

/// Why a connection ended without a clean close handshake, as reported by `recv`.
///
/// ```
/// use std::time::Instant;
/// use ropeway_core::{BytesMut, Config, Connection, ConnectionError};
///
/// let mut conn = Connection::server(Config::default(), Instant::now());
/// conn.handle_eof(); // the transport ended without a close handshake
/// let error = conn.recv(&mut BytesMut::new()).unwrap_err();
/// assert_eq!(error, ConnectionError::Abnormal);
/// assert_eq!(error.close_code(), ropeway_core::CloseCode::ABNORMAL);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer broke the protocol; a close frame with the error's code was queued.
    Protocol(ProtocolError),
    /// The transport ended before the close handshake completed (close code 1006).
    Abnormal,
    /// The peer sent nothing within the keep-alive timeout after a ping: it is presumed gone.
    KeepAliveTimeout,
    /// The close handshake did not complete within the close timeout.
    CloseTimeout,
    /// The transport took none of the queued output within the write stall timeout: the
    /// peer stopped reading.
    WriteStalled,
}

impl ConnectionError {
    /// The close code that describes this end: the protocol error's code, or 1006.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ConnectionError::Protocol(e) => e.close_code(),
            _ => CloseCode::ABNORMAL,
        }
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Over a limit is this side's setting, not the peer breaking the RFC: say so,
            // with the close code the peer was sent.
            ConnectionError::Protocol(e) if e.is_over_limit() => {
                write!(f, "{e} (closed with {})", e.close_code().0)
            }
            ConnectionError::Protocol(e) => write!(f, "protocol error: {e}"),
            ConnectionError::Abnormal => {
                f.write_str("connection ended without a close handshake (1006)")
            }
            ConnectionError::KeepAliveTimeout => {
                f.write_str("no answer from the peer within the keep-alive timeout")
            }
            ConnectionError::CloseTimeout => {
                f.write_str("the close handshake did not complete in time")
            }
            ConnectionError::WriteStalled => {
                f.write_str("the peer read nothing within the write stall timeout")
            }
        }
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectionError::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for ConnectionError {
    fn from(e: ProtocolError) -> Self {
        ConnectionError::Protocol(e)
    }
}
