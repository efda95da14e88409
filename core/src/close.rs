//! Close frames (RFC 6455 §5.5.1, §7.4): status codes and their validity on the wire.

use std::fmt;

/// A close status code (RFC 6455 §7.4 and the IANA "WebSocket Close Code Number" registry).
///
/// ```
/// use ropeway_core::CloseCode;
///
/// assert_eq!(CloseCode::from(1000), CloseCode::NORMAL);
/// assert!(CloseCode(4000).is_valid_on_wire());   // application codes 4000–4999
/// assert!(!CloseCode::ABNORMAL.is_valid_on_wire()); // 1006 only describes a lost connection
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the endpoint received a frame that broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: the endpoint received a type of data it cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: reported locally when a close frame carried no status code; never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: reported locally when the transport ended without a close handshake; never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a message's data was inconsistent with its type (invalid UTF-8 in a text message).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message or frame was too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway or proxy received an invalid response upstream.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: reported locally when the TLS handshake failed; never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may appear in a close frame on the wire.
    ///
    /// Codes below 1000, 1004–1006, 1015, 1016–2999 and 5000 and above are protocol errors
    /// when received; 1005, 1006 and 1015 exist only to report local conditions.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The status code and reason a close frame carried.
///
/// A close frame with an empty payload has no code; the core reports it as `None` where a
/// `CloseFrame` is optional (the RFC calls that case 1005, "no status received").
///
/// ```
/// use ropeway_core::{CloseCode, CloseFrame};
///
/// let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server restart");
/// assert_eq!(frame.code, CloseCode(1001));
/// assert!(frame.check().is_ok());
/// assert!(CloseFrame::new(1000, "x".repeat(124)).check().is_err()); // reason over 123 bytes
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, valid UTF-8, at most 123 bytes.
    pub reason: String,
}

impl CloseFrame {
    /// The longest reason that fits a control frame: 125 bytes minus the 2-byte code.
    pub const MAX_REASON_LEN: usize = 123;

    /// Whether this end may send this close frame: a code valid on the wire (not 1005, 1006,
    /// 1015 or an unassigned range) and a reason of at most 123 bytes.
    pub fn check(&self) -> Result<(), crate::error::UsageError> {
        use crate::error::UsageError;
        if !self.code.is_valid_on_wire() {
            return Err(UsageError::InvalidCloseCode(self.code.0));
        }
        if self.reason.len() > Self::MAX_REASON_LEN {
            return Err(UsageError::CloseReasonTooLong(self.reason.len()));
        }
        Ok(())
    }

    /// A close frame with `code` and `reason`.
    pub fn new(code: impl Into<CloseCode>, reason: impl Into<String>) -> Self {
        CloseFrame {
            code: code.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} ({})", self.code, self.reason)
        }
    }
}

/// Why a received close payload is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClosePayloadError {
    /// A payload of one byte cannot hold a code.
    Truncated,
    /// The code is not allowed on the wire.
    InvalidCode(u16),
    /// The reason is not valid UTF-8.
    InvalidReason,
}

/// Parses and validates a received close payload.
pub(crate) fn parse_close_payload(payload: &[u8]) -> Result<Option<CloseFrame>, ClosePayloadError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ClosePayloadError::Truncated),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code.0));
            }
            let reason =
                simdutf8::basic::from_utf8(reason).map_err(|_| ClosePayloadError::InvalidReason)?;
            Ok(Some(CloseFrame::new(code, reason)))
        }
    }
}

/// Writes the payload of a close frame into `buf`, returning its length.
pub(crate) fn encode_close_payload(frame: Option<&CloseFrame>, buf: &mut [u8; 125]) -> usize {
    let Some(frame) = frame else { return 0 };
    buf[..2].copy_from_slice(&frame.code.0.to_be_bytes());
    let reason = frame.reason.as_bytes();
    buf[2..2 + reason.len()].copy_from_slice(reason);
    2 + reason.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_follows_the_registry() {
        let valid = |c: u16| CloseCode(c).is_valid_on_wire();
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!valid(code), "{code} must be invalid");
        }
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        ] {
            assert!(valid(code), "{code} must be valid");
        }
        assert!(valid(3000) && valid(3999) && valid(4000) && valid(4999));
    }

    #[test]
    fn close_payloads_parse_and_validate() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
        assert_eq!(parse_close_payload(&[3]), Err(ClosePayloadError::Truncated));
        assert_eq!(
            parse_close_payload(&[0x03, 0xe8, b'o', b'k']),
            Ok(Some(CloseFrame::new(1000, "ok")))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xed]),
            Err(ClosePayloadError::InvalidCode(1005))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xe8, 0xff]),
            Err(ClosePayloadError::InvalidReason)
        );
    }

    #[test]
    fn close_payload_round_trips() {
        let frame = CloseFrame::new(4000, "bye ✓");
        let mut buf = [0; 125];
        let n = encode_close_payload(Some(&frame), &mut buf);
        assert_eq!(parse_close_payload(&buf[..n]), Ok(Some(frame)));
        assert_eq!(encode_close_payload(None, &mut buf), 0);
    }
}
