//! The frame header (RFC 6455 §5.2): decoding with every check in RFC order, and encoding
//! into a fixed `[u8; 14]`.

use crate::error::ProtocolError;

/// The longest frame header: 2 bytes, an 8-byte length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload of a control frame.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (RFC 6455 §5.2, §11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decodes the opcode nibble; reserved values are a protocol error.
    pub fn from_u8(value: u8) -> Result<OpCode, ProtocolError> {
        Ok(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(ProtocolError::ReservedOpcode(other)),
        })
    }

    /// The opcode nibble.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong are control frames.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The RSV1 bit, as kept in [`FrameHeader::rsv`] (bit 2 = RSV1, bit 1 = RSV2, bit 0 = RSV3).
pub const RSV1: u8 = 0b100;

/// A decoded frame header.
///
/// ```
/// use ropeway_core::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
///
/// let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Text, mask: None, payload_len: 300 };
/// let mut out = [0; MAX_HEADER_LEN];
/// let len = header.encode(&mut out);
/// assert_eq!(&out[..len], &[0x81, 126, 0x01, 0x2c]); // 16-bit length form
/// assert_eq!(FrameHeader::decode(&out[..len]).unwrap(), Some((header, len)));
/// assert_eq!(FrameHeader::decode(&out[..1]).unwrap(), None); // needs more bytes
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final frame of its message (always set on control frames).
    pub fin: bool,
    /// The three RSV bits: RSV1 in bit 2, RSV2 in bit 1, RSV3 in bit 0.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on client-to-server frames.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed, or the header and its length. Checks
    /// what the header alone can tell: reserved opcode, fragmented control frame, the length's
    /// encoding (minimal, top bit clear: RFC 6455 §5.2), then a control frame's length (at
    /// most 125: §5.5). RSV bits, masking and size limits depend on the connection and are
    /// checked by the caller.
    #[inline]
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, ..] = *buf else { return Ok(None) };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0b111;
        let opcode = OpCode::from_u8(b0 & 0x0f)?;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        // The length's own encoding (§5.2) is checked before what it may be for this opcode
        // (§5.5), so a 10-byte ping in the 16-bit form is named for its real fault, the
        // encoding, not called over 125 bytes.
        let (payload_len, mut pos) = match len7 {
            126 => {
                let Some(bytes) = buf.get(2..4) else {
                    return Ok(None);
                };
                let len = u16::from_be_bytes([bytes[0], bytes[1]]);
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (u64::from(len), 4)
            }
            127 => {
                let Some(bytes) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut be = [0u8; 8];
                be.copy_from_slice(bytes);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthMsbSet);
                }
                if len <= u64::from(u16::MAX) {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        // After the encoding checks, so the error names the length the peer claimed.
        if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(ProtocolError::ControlFrameTooLong(payload_len));
        }
        let mask = if masked {
            let Some(bytes) = buf.get(pos..pos + 4) else {
                return Ok(None);
            };
            pos += 4;
            Some([bytes[0], bytes[1], bytes[2], bytes[3]])
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            pos,
        )))
    }

    /// Encodes the header into `out`, returning how many bytes it took.
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut pos = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[pos..pos + 4].copy_from_slice(&key);
            pos += 4;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        FrameHeader::decode(bytes)
    }

    #[test]
    fn rfc_5_7_examples_decode() {
        // A single-frame unmasked text message "Hello".
        let (h, n) = decode(&[0x81, 0x05, 0x48]).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len, n),
            (true, OpCode::Text, None, 5, 2)
        );
        // A single-frame masked text message "Hello".
        let (h, n) = decode(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d])
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.mask, h.payload_len, n),
            (Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6)
        );
        // A fragmented unmasked text message: "Hel" then "lo".
        let (h, _) = decode(&[0x01, 0x03]).unwrap().unwrap();
        assert_eq!((h.fin, h.opcode), (false, OpCode::Text));
        let (h, _) = decode(&[0x80, 0x02]).unwrap().unwrap();
        assert_eq!((h.fin, h.opcode), (true, OpCode::Continuation));
        // 256 bytes binary message in a single unmasked frame.
        let (h, n) = decode(&[0x82, 0x7e, 0x01, 0x00]).unwrap().unwrap();
        assert_eq!((h.opcode, h.payload_len, n), (OpCode::Binary, 256, 4));
        // 64 KiB binary message in a single unmasked frame.
        let (h, n) = decode(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (65536, 10));
    }

    #[test]
    fn rfc_5_7_examples_encode() {
        let mut out = [0; MAX_HEADER_LEN];
        let header = |opcode, fin, mask, payload_len| FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len,
        };
        let n = header(OpCode::Text, true, None, 5).encode(&mut out);
        assert_eq!(&out[..n], &[0x81, 0x05]);
        let n = header(OpCode::Text, true, Some([0x37, 0xfa, 0x21, 0x3d]), 5).encode(&mut out);
        assert_eq!(&out[..n], &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
        let n = header(OpCode::Ping, true, None, 5).encode(&mut out);
        assert_eq!(&out[..n], &[0x89, 0x05]);
        let n = header(OpCode::Binary, true, None, 256).encode(&mut out);
        assert_eq!(&out[..n], &[0x82, 0x7e, 0x01, 0x00]);
        let n = header(OpCode::Binary, true, None, 65536).encode(&mut out);
        assert_eq!(&out[..n], &[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn partial_headers_ask_for_more() {
        let full = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(decode(&full[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(decode(&full).unwrap().is_some());
    }

    #[test]
    fn header_checks() {
        assert_eq!(decode(&[0x83, 0x00]), Err(ProtocolError::ReservedOpcode(3)));
        assert_eq!(
            decode(&[0x8b, 0x00]),
            Err(ProtocolError::ReservedOpcode(0xb))
        );
        assert_eq!(
            decode(&[0x09, 0x00]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        // The claimed length is reported, so the error waits for the extended length.
        assert_eq!(decode(&[0x89, 0x7e]), Ok(None));
        assert_eq!(
            decode(&[0x89, 0x7e, 0x00, 0xc8]),
            Err(ProtocolError::ControlFrameTooLong(200))
        );
        assert_eq!(
            decode(&[0x82, 0x7e, 0x00, 0x7d]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            decode(&[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            decode(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 1, 0, 0]),
            Err(ProtocolError::LengthMsbSet)
        );
        // A control frame's length is checked for its encoding before its size.
        assert_eq!(
            decode(&[0x89, 0x7e, 0x00, 0x0a]),
            Err(ProtocolError::NonMinimalLength)
        );
        assert_eq!(
            decode(&[0x89, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(ProtocolError::LengthMsbSet)
        );
        let (h, _) = decode(&[0xf2, 0x00]).unwrap().unwrap();
        assert_eq!(h.rsv, 0b111);
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut out = [0; MAX_HEADER_LEN];
        for len in [0, 1, 125, 126, 127, 65535, 65536, u32::MAX as u64 + 7] {
            for mask in [None, Some([1, 2, 3, 4])] {
                for rsv in [0, RSV1] {
                    let h = FrameHeader {
                        fin: len % 2 == 0,
                        rsv,
                        opcode: OpCode::Binary,
                        mask,
                        payload_len: len,
                    };
                    let n = h.encode(&mut out);
                    assert_eq!(decode(&out[..n]), Ok(Some((h, n))));
                }
            }
        }
    }
}
