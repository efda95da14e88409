//! Masking (RFC 6455 §5.3): XOR of the payload with a 4-byte key.
//!
//! Placeholder, replaced by the SIMD implementation.

/// Applies `key` to `buf` in place, as if `buf` started at a multiple of 4 in the payload.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    apply_mask_scalar(buf, key);
}

/// The byte-at-a-time reference implementation.
pub fn apply_mask_scalar(buf: &mut [u8], key: [u8; 4]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// The key to use for a slice that starts `offset` bytes into the masked payload.
pub fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut k = key;
    k.rotate_left(offset & 3);
    k
}
