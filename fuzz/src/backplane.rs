//! What a backplane hands a server: bytes anyone who can publish on its channels chose.

use ropeway_core::backplane::Envelope;

/// The largest envelope the fuzzed decoder takes (a small limit, so the limit's own check
/// is fuzzed too).
const LIMIT: usize = 4096;

/// Decodes `data` as an envelope: it must never panic, and whatever decodes must encode
/// back to the same bytes (no two readings of one input).
pub fn envelope(data: &[u8]) {
    if let Ok(envelope) = Envelope::decode(data, LIMIT) {
        assert_eq!(envelope.encode(), data, "{envelope:?}");
    }
}
