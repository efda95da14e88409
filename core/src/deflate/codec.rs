//! The per-message work of permessage-deflate (RFC 7692 §7.2): raw DEFLATE with the
//! `00 00 ff ff` tail stripped on send and restored on receive, context kept or reset per
//! direction as negotiated.

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::ProtocolError;
use crate::event::MessageKind;
use crate::extension::Extension;
use crate::frame::RSV1;

use super::parked;

/// What a sync flush ends with; stripped on send, restored on receive.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output grows in steps of this much while inflating, so a bomb is caught within one step
/// of the limit.
const INFLATE_STEP: usize = 32 << 10;

/// The smallest window the DEFLATE backend handles. A peer limited to 8 bits is still
/// inflated correctly with 9 (a larger window reads any smaller one).
const MIN_BACKEND_WINDOW: u8 = 9;

/// How one direction was negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Direction {
    /// The compressor resets after every message.
    pub no_context_takeover: bool,
    /// The compressor's window: 8 to 15 bits.
    pub max_window_bits: u8,
}

/// The bound on inflating: a token bucket of output bytes per connection. It starts full at
/// `burst`, every compressed byte received adds `ratio` (up to `burst`), every inflated byte
/// takes one. So a connection inflates at most `burst` plus `ratio` times what it received,
/// whatever the sizes of its messages: sustained amplification is at most `ratio`, while a
/// message of one repeated character (1,000:1) still inflates from the burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflateLimit {
    /// Output bytes one compressed byte adds to the bucket.
    pub ratio: u32,
    /// The bucket's size: output allowed beyond the ratio, at first and again once ordinary
    /// traffic has refilled it.
    pub burst: usize,
}

/// permessage-deflate on one connection.
pub struct PerMessageDeflate {
    outbound: Direction,
    inbound: Direction,
    level: Compression,
    threshold: usize,
    inflate_limit: Option<InflateLimit>,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
    /// Compressed bytes written so far for the message being sent.
    message_output: usize,
    /// The inflate bucket's bytes (see [`InflateLimit`]).
    inflate_credit: usize,
    /// The peer's stream ended with a final block inside the message being received: any
    /// compressed byte after it is an error.
    stream_ended: bool,
}

impl std::fmt::Debug for PerMessageDeflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerMessageDeflate")
            .field("outbound", &self.outbound)
            .field("inbound", &self.inbound)
            .field("level", &self.level)
            .field("threshold", &self.threshold)
            .finish()
    }
}

impl PerMessageDeflate {
    /// The extension for a connection that compresses as `outbound` says and inflates what
    /// the peer compressed as `inbound` says. Messages under `threshold` bytes are sent
    /// uncompressed.
    pub fn new(outbound: Direction, inbound: Direction, level: u32, threshold: usize) -> Self {
        PerMessageDeflate {
            outbound,
            inbound,
            level: Compression::new(level.min(9)),
            threshold,
            inflate_limit: None,
            compressor: None,
            decompressor: None,
            message_output: 0,
            inflate_credit: 0,
            stream_ended: false,
        }
    }

    /// Bounds how far one message may inflate (see [`InflateLimit`]); `None` leaves only the
    /// message size limit.
    pub fn with_inflate_limit(mut self, limit: Option<InflateLimit>) -> Self {
        self.inflate_limit = limit;
        self.inflate_credit = limit.map_or(0, |limit| limit.burst);
        self
    }

    /// The bound on inflating one message.
    pub fn inflate_limit(&self) -> Option<InflateLimit> {
        self.inflate_limit
    }

    /// Inflates the next bytes of a message, checking them against the message and ratio
    /// limits and against RFC 7692's framing (nothing after a final block).
    fn decode_checked(
        &mut self,
        input: &[u8],
        message_end: bool,
        output: &mut BytesMut,
        max_output: usize,
    ) -> Result<(), ProtocolError> {
        if self.stream_ended && !input.is_empty() {
            return Err(trailing_data());
        }
        // What this call may produce: the message limit, and the inflate bucket refilled
        // by this input.
        let budget = match self.inflate_limit {
            Some(limit) => {
                let refill = input.len().saturating_mul(limit.ratio as usize);
                self.inflate_credit = self.inflate_credit.saturating_add(refill).min(limit.burst);
                self.inflate_credit.min(max_output)
            }
            None => max_output,
        };
        let limit = self.inflate_limit;
        let over = |_produced: usize| match limit {
            // The ratio, not the message limit, is what stopped it.
            Some(limit) if budget < max_output => ProtocolError::InflateRatio {
                ratio: limit.ratio,
                burst: limit.burst,
            },
            _ => ProtocolError::MessageTooLarge { max: max_output },
        };
        // The peer's window as negotiated (an 8-bit peer is read with 9 bits, the backend's
        // minimum). The backend keeps 32 KiB of history whatever the bits, so a reference
        // beyond the negotiated window but within 32 KiB is inflated; one beyond what it
        // holds is "invalid distance too far back" (see the module docs on leniency).
        let window = self.inbound.max_window_bits.max(MIN_BACKEND_WINDOW);
        let inflater = self
            .decompressor
            .get_or_insert_with(|| parked::decompressor(window));
        let start = output.len();
        let (mut ended, rest) =
            inflate(inflater, input, output, start, budget).map_err(|e| match e {
                Inflated::Over(n) => over(n),
                Inflated::Error(e) => e,
            })?;
        if ended && rest > 0 {
            return Err(trailing_data());
        }
        if message_end && !ended && !self.stream_ended {
            let budget = budget - (output.len() - start);
            let (tail_ended, _) =
                inflate(inflater, &TAIL, output, output.len(), budget).map_err(|e| match e {
                    Inflated::Over(n) => over(n),
                    Inflated::Error(e) => e,
                })?;
            ended = tail_ended;
        }
        if self.inflate_limit.is_some() {
            self.inflate_credit = self.inflate_credit.saturating_sub(output.len() - start);
        }
        self.stream_ended |= ended;
        if message_end && (self.inbound.no_context_takeover || self.stream_ended) {
            // The peer starts afresh with every message (or closed its stream with a final
            // block): the next message needs a fresh inflater; this one, reset, serves the
            // next message on this thread, and the connection holds none meanwhile.
            if let Some(inflater) = self.decompressor.take() {
                parked::park_decompressor(window, inflater);
            }
        }
        Ok(())
    }

    /// This end's compression as negotiated.
    pub fn outbound(&self) -> Direction {
        self.outbound
    }

    /// The peer's compression as negotiated.
    pub fn inbound(&self) -> Direction {
        self.inbound
    }

    /// Whether this end can compress at all: the backend cannot keep to an 8-bit window, and
    /// RFC 7692 lets any message go uncompressed, so with 8 bits nothing is compressed.
    pub fn compresses(&self) -> bool {
        self.outbound.max_window_bits >= MIN_BACKEND_WINDOW
    }

    /// Bytes of DEFLATE state held right now (for the memory documentation and tests).
    pub fn holds_state(&self) -> (bool, bool) {
        (self.compressor.is_some(), self.decompressor.is_some())
    }
}

impl Extension for PerMessageDeflate {
    fn name(&self) -> &str {
        super::params::NAME
    }

    fn reserved_bits(&self) -> u8 {
        RSV1
    }

    fn decode_start(&mut self, rsv: u8) -> bool {
        rsv & RSV1 != 0
    }

    fn decode(
        &mut self,
        input: &[u8],
        message_end: bool,
        output: &mut BytesMut,
        max_output: usize,
    ) -> Result<(), ProtocolError> {
        let result = self.decode_checked(input, message_end, output, max_output);
        if message_end || result.is_err() {
            self.stream_ended = false;
        }
        result
    }
    fn encode_start(&mut self, _kind: MessageKind, len: Option<usize>) -> Option<u8> {
        if !self.compresses() || len.is_some_and(|len| len < self.threshold) {
            return None;
        }
        Some(RSV1)
    }

    fn encode(&mut self, input: &[u8], message_end: bool, output: &mut BytesMut) {
        // The core only calls this after `encode_start` agreed, which never happens with an
        // 8-bit window; the clamp keeps a misuse from reaching the backend's assertion.
        let (level, window) = (
            self.level,
            self.outbound.max_window_bits.max(MIN_BACKEND_WINDOW),
        );
        let deflater = self
            .compressor
            .get_or_insert_with(|| parked::compressor(level, window));
        let flush = if message_end {
            FlushCompress::Sync
        } else {
            FlushCompress::None
        };
        let start = output.len();
        deflate(deflater, input, flush, output);
        if message_end {
            if output[start..].ends_with(&TAIL) {
                output.truncate(output.len() - TAIL.len());
            }
            self.message_output += output.len() - start;
            if self.message_output == 0 {
                // A sync flush with nothing pending writes nothing (zlib-rs), but the
                // receiver appends `00 00 ff ff`, which needs the header of the empty stored
                // block before it: one 0x00, as RFC 7692 §7.2.3.6 shows for an empty message.
                // The stream is at a block boundary here, so the extra block changes nothing.
                output.extend_from_slice(&[0x00]);
            }
            self.message_output = 0;
            if self.outbound.no_context_takeover {
                // The next message starts afresh: park the state for it (or for another
                // connection on this thread) instead of holding it while idle.
                if let Some(deflater) = self.compressor.take() {
                    parked::park_compressor(level, window, deflater);
                }
            }
        } else {
            self.message_output += output.len() - start;
        }
    }
}

/// Why [`inflate`] stopped early.
enum Inflated {
    /// More than the budget was produced (the count).
    Over(usize),
    /// The data is corrupt.
    Error(ProtocolError),
}

fn trailing_data() -> ProtocolError {
    ProtocolError::Extension("inflate: data after the final DEFLATE block".to_owned())
}

/// Inflates `input` into `output`, failing once more than `max_output` bytes were produced
/// since `start`. Returns whether the stream ended with a final block, and how many input
/// bytes were left after it.
fn inflate(
    inflater: &mut Decompress,
    mut input: &[u8],
    output: &mut BytesMut,
    start: usize,
    max_output: usize,
) -> Result<(bool, usize), Inflated> {
    loop {
        let produced = output.len() - start;
        // One byte past the budget tells "exactly at the limit" from "over it".
        let room = INFLATE_STEP.min(max_output.saturating_sub(produced) + 1);
        let len = output.len();
        output.resize(len + room, 0);
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let status = inflater.decompress(input, &mut output[len..], FlushDecompress::Sync);
        let consumed = (inflater.total_in() - in_before) as usize;
        let written = (inflater.total_out() - out_before) as usize;
        output.truncate(len + written);
        let status = status
            .map_err(|e| Inflated::Error(ProtocolError::Extension(format!("inflate: {e}"))))?;
        if output.len() - start > max_output {
            return Err(Inflated::Over(output.len() - start));
        }
        input = &input[consumed..];
        match status {
            Status::StreamEnd => return Ok((true, input.len())),
            _ if written < room && (input.is_empty() || consumed == 0) => {
                return Ok((false, input.len()));
            }
            _ => {}
        }
    }
}

/// Deflates all of `input` into `output` with the given flush.
///
/// The backend writes into the spare capacity of a `Vec` (no zero-filling first, unlike a
/// `&mut [u8]` output that would have to be initialized): the buffer goes through a `Vec`
/// and back (through `Bytes`), which moves it without copying while it is not shared (the connection's
/// encode buffer, cleared after every frame, is not).
fn deflate(deflater: &mut Compress, mut input: &[u8], flush: FlushCompress, output: &mut BytesMut) {
    let mut vec = Vec::from(std::mem::take(output));
    loop {
        // Incompressible data grows by a few bytes per block; leave room for that.
        let room = input.len() + input.len() / 64 + 64;
        vec.reserve(room);
        let spare = vec.capacity() - vec.len();
        let (in_before, out_before) = (deflater.total_in(), deflater.total_out());
        // Compressing can only fail on a misused stream, which this code never produces.
        let result = deflater.compress_vec(input, &mut vec, flush);
        let consumed = (deflater.total_in() - in_before) as usize;
        let written = (deflater.total_out() - out_before) as usize;
        input = &input[consumed..];
        if result.is_err() || (input.is_empty() && written < spare) {
            break;
        }
    }
    *output = BytesMut::from(bytes::Bytes::from(vec));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(no_context_takeover: bool) -> PerMessageDeflate {
        let d = Direction {
            no_context_takeover,
            max_window_bits: 15,
        };
        PerMessageDeflate::new(d, d, 6, 0)
    }

    fn compress(codec: &mut PerMessageDeflate, text: &[u8]) -> Vec<u8> {
        assert_eq!(
            codec.encode_start(MessageKind::Text, Some(text.len())),
            Some(RSV1)
        );
        let mut out = BytesMut::new();
        codec.encode(text, true, &mut out);
        out.to_vec()
    }

    fn decompress(codec: &mut PerMessageDeflate, data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        codec.decode(data, true, &mut out, 1 << 20).unwrap();
        out.to_vec()
    }

    #[test]
    fn rfc_7692_7_2_3_examples() {
        // "Hello" in one compressed block, and again with the context taken over.
        let mut codec = both(false);
        assert_eq!(
            compress(&mut codec, b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        // The RFC shows `f2 00 11 00 01 00` for the second message, as the zlib of 2015 wrote
        // it; zlib today (C and zlib-rs alike) writes this equally valid, shorter block. Both
        // inflate to "Hello", which the decoding half below checks with the RFC's own bytes.
        assert_eq!(
            compress(&mut codec, b"Hello"),
            [0xf2, 0x00, 0x11, 0x00, 0x00]
        );
        let mut codec = both(false);
        assert_eq!(
            decompress(&mut codec, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
            b"Hello"
        );
        assert_eq!(
            decompress(&mut codec, &[0xf2, 0x00, 0x11, 0x00, 0x01, 0x00]),
            b"Hello"
        );
        let mut codec = both(false);
        assert_eq!(
            decompress(&mut codec, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
            b"Hello"
        );
        assert_eq!(
            decompress(&mut codec, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            b"Hello"
        );
        // Without context takeover each message stands alone.
        let mut codec = both(true);
        assert_eq!(
            compress(&mut codec, b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        assert_eq!(
            compress(&mut codec, b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        assert_eq!(codec.holds_state(), (false, false));
        // The RFC's uncompressed (stored) block and the empty message.
        assert_eq!(
            decompress(
                &mut both(false),
                &[
                    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00
                ]
            ),
            b"Hello"
        );
        assert_eq!(compress(&mut both(false), b""), [0x00]);
        assert_eq!(decompress(&mut both(false), &[0x00]), b"");
    }

    #[test]
    fn every_window_size_round_trips_a_sequence_of_messages() {
        for bits in 9..=15 {
            for no_context_takeover in [false, true] {
                let d = Direction {
                    no_context_takeover,
                    max_window_bits: bits,
                };
                let (mut tx, mut rx) = (
                    PerMessageDeflate::new(d, d, 6, 0),
                    PerMessageDeflate::new(d, d, 6, 0),
                );
                for msg in [&b""[..], b"", b"a", b"ab", b"hello hello hello", b""] {
                    let packed = compress(&mut tx, msg);
                    assert_eq!(
                        decompress(&mut rx, &packed),
                        msg,
                        "bits {bits} nct {no_context_takeover} {packed:02x?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_bomb_stops_at_the_budget() {
        let mut sender = both(false);
        let bomb = compress(&mut sender, &vec![0u8; 4 << 20]);
        assert!(bomb.len() < 8 << 10, "{} bytes", bomb.len());
        let mut receiver = both(false);
        let mut out = BytesMut::new();
        let err = receiver.decode(&bomb, true, &mut out, 1 << 20).unwrap_err();
        assert_eq!(err, ProtocolError::MessageTooLarge { max: 1 << 20 });
        assert!(out.len() <= (1 << 20) + 1, "held {} bytes", out.len());
    }

    #[test]
    fn exactly_the_budget_is_fine() {
        let data = vec![7u8; 100_000];
        let packed = compress(&mut both(false), &data);
        let mut out = BytesMut::new();
        both(false)
            .decode(&packed, true, &mut out, data.len())
            .unwrap();
        assert_eq!(out.len(), data.len());
    }

    #[test]
    fn corrupt_data_is_a_protocol_error() {
        let mut out = BytesMut::new();
        let err = both(false)
            .decode(&[0xff, 0xff, 0xff], true, &mut out, 1000)
            .unwrap_err();
        assert!(matches!(err, ProtocolError::Extension(_)), "{err:?}");
    }

    #[test]
    fn eight_bit_windows_send_uncompressed_but_still_inflate() {
        let eight = Direction {
            no_context_takeover: false,
            max_window_bits: 8,
        };
        let mut codec = PerMessageDeflate::new(eight, eight, 6, 0);
        assert!(!codec.compresses());
        assert_eq!(codec.encode_start(MessageKind::Binary, Some(100)), None);
        let packed = compress(&mut both(false), b"Hello");
        assert_eq!(decompress(&mut codec, &packed), b"Hello");
    }

    #[test]
    fn the_threshold_leaves_small_messages_alone() {
        let d = Direction {
            no_context_takeover: false,
            max_window_bits: 15,
        };
        let mut codec = PerMessageDeflate::new(d, d, 6, 64);
        assert_eq!(codec.encode_start(MessageKind::Text, Some(63)), None);
        assert_eq!(codec.encode_start(MessageKind::Text, Some(64)), Some(RSV1));
        assert_eq!(codec.encode_start(MessageKind::Text, None), Some(RSV1));
    }
}
