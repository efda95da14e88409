//! Masking (RFC 6455 §5.3): XOR of the payload with a 4-byte key.
//!
//! Every payload byte a client sends is masked and every payload byte a server
//! receives is unmasked, so this loop touches the whole data stream; it is the
//! one place in the core where SIMD is worth its `unsafe`. [`apply_mask`] is the
//! only entry point the rest of the crate uses: it picks the widest vector unit
//! the CPU has at run time, so a single binary is fast on any x86_64 machine.
//! [`apply_mask_scalar`] is the obviously correct version the tests compare
//! every fast path against.
//!
//! The fast paths share one shape: split the buffer into an unaligned head, an
//! aligned middle of whole vectors, and a tail. The middle then needs no load or
//! store intrinsics (it is a slice of vector values, XORed in place with aligned
//! accesses that never straddle a cache line), and because it starts `head.len()`
//! bytes into the buffer, it and the tail use the key rotated by that much.
//!
//! A streaming decoder that unmasks a payload in pieces keeps the payload offset
//! and calls `apply_mask(piece, rotate_key(key, offset))`:
//!
//! ```
//! use ropeway_core::mask::{apply_mask, rotate_key};
//!
//! let key = [0x37, 0xfa, 0x21, 0x3d];
//! let mut payload = *b"\x7f\x9f\x4d\x51\x58";
//! let (first, rest) = payload.split_at_mut(3);
//! apply_mask(first, key);
//! apply_mask(rest, rotate_key(key, 3));
//! assert_eq!(&payload, b"Hello");
//! ```

/// Applies `key` to `buf` in place, as if `buf` started at a multiple of 4 in the payload.
///
/// Masking and unmasking are the same operation. For a slice that starts elsewhere in
/// the payload, pass [`rotate_key`]`(key, offset)`.
///
/// ```
/// use ropeway_core::mask::{apply_mask, rotate_key};
///
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut payload = *b"Hello";
/// apply_mask(&mut payload, key);
/// assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// // Unmasking in two slices: the second starts at offset 3.
/// let (a, b) = payload.split_at_mut(3);
/// apply_mask(a, key);
/// apply_mask(b, rotate_key(key, 3));
/// assert_eq!(&payload, b"Hello");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    // Short payloads (control frames, small chat messages) are the common case.
    // Below one AVX-512 vector no vector loop would run anyway, and entering a
    // `target_feature` function (register saves, `vzeroupper`) costs more than
    // the work: measured 2-3x slower for 0..63 bytes than the word loop inline.
    if buf.len() < 64 {
        return mask_words(buf, key);
    }
    #[cfg(target_arch = "x86_64")]
    {
        // std caches the CPUID answer in an atomic after the first call, so each
        // check is a relaxed load and a bit test (measured about 0.5 ns); a cache
        // of our own would not be cheaper.
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: `mask_avx512` only requires AVX-512F, which the CPU was just
            // found to support.
            unsafe { x86::mask_avx512(buf, key) }
        } else if is_x86_feature_detected!("avx2") {
            // SAFETY: `mask_avx2` only requires AVX2, which the CPU was just found
            // to support.
            unsafe { x86::mask_avx2(buf, key) }
        } else {
            // SAFETY: `mask_sse2` only requires SSE2, which every x86_64 CPU has
            // (it is part of the architecture's baseline).
            unsafe { x86::mask_sse2(buf, key) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    mask_words(buf, key)
}

/// The byte-at-a-time reference implementation.
///
/// Kept deliberately naive: it is the definition the fast paths are tested against.
pub fn apply_mask_scalar(buf: &mut [u8], key: [u8; 4]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// The key to use for a slice that starts `offset` bytes into the masked payload.
///
/// Payload byte `i` is XORed with `key[i % 4]`, so a slice starting at `offset`
/// sees the key shifted left by `offset % 4`.
#[inline]
pub fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    // A u32 rotation is one instruction, whereas `<[u8]>::rotate_left` compiled
    // to memcpy/memmove calls on every SIMD call's setup path. Read as a
    // little-endian u32, moving the bytes one place left is a right rotation by 8.
    let bits = 8 * (offset & 3) as u32;
    u32::from_le_bytes(key).rotate_right(bits).to_le_bytes()
}

/// Portable word-at-a-time masking: the fallback on targets without a SIMD path,
/// and the head/tail helper of the SIMD paths.
///
/// Uses no `unsafe`; on targets with vector units LLVM usually vectorizes the
/// word loop on its own.
#[inline]
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    // The key repeats every 4 bytes, so a u64 holding it twice lines up with
    // every 8-byte chunk that starts at a multiple of 8 (hence of 4).
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so key index 0 lines up with it.
    for (b, k) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

/// The x86_64 vector paths. Each one is a safe function that is only sound to
/// call on a CPU with its target feature, which `apply_mask` checks.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{mask_words, rotate_key};
    use core::arch::x86_64::{
        __m128i, __m256i, __m512i, _mm_set1_epi32, _mm_xor_si128, _mm256_set1_epi32,
        _mm256_xor_si256, _mm512_set1_epi32, _mm512_xor_si512,
    };

    /// AVX-512F: 64 bytes per XOR.
    #[target_feature(enable = "avx512f")]
    pub(super) fn mask_avx512(buf: &mut [u8], key: [u8; 4]) {
        // SAFETY: `__m512i` is plain data (any bit pattern is a valid value, no
        // drop glue), so viewing initialized bytes as it is sound; `align_to_mut`
        // guarantees the middle slice is in bounds and correctly aligned.
        let (head, body, tail) = unsafe { buf.align_to_mut::<__m512i>() };
        mask_words(head, key);
        // The body starts `head.len()` bytes in and is a whole number of 4-byte
        // key periods long, so body and tail share one rotated key.
        let key = rotate_key(key, head.len());
        // x86 vector lanes are little-endian in memory.
        let k = _mm512_set1_epi32(i32::from_le_bytes(key));
        // Four independent registers per iteration keep both load ports and the
        // store port busy instead of waiting on one dependency chain per loop trip.
        let mut quads = body.chunks_exact_mut(4);
        for q in &mut quads {
            q[0] = _mm512_xor_si512(q[0], k);
            q[1] = _mm512_xor_si512(q[1], k);
            q[2] = _mm512_xor_si512(q[2], k);
            q[3] = _mm512_xor_si512(q[3], k);
        }
        for v in quads.into_remainder() {
            *v = _mm512_xor_si512(*v, k);
        }
        mask_words(tail, key);
    }

    /// AVX2: 32 bytes per XOR.
    #[target_feature(enable = "avx2")]
    pub(super) fn mask_avx2(buf: &mut [u8], key: [u8; 4]) {
        // SAFETY: `__m256i` is plain data (any bit pattern is a valid value, no
        // drop glue), so viewing initialized bytes as it is sound; `align_to_mut`
        // guarantees the middle slice is in bounds and correctly aligned.
        let (head, body, tail) = unsafe { buf.align_to_mut::<__m256i>() };
        mask_words(head, key);
        let key = rotate_key(key, head.len());
        let k = _mm256_set1_epi32(i32::from_le_bytes(key));
        let mut quads = body.chunks_exact_mut(4);
        for q in &mut quads {
            q[0] = _mm256_xor_si256(q[0], k);
            q[1] = _mm256_xor_si256(q[1], k);
            q[2] = _mm256_xor_si256(q[2], k);
            q[3] = _mm256_xor_si256(q[3], k);
        }
        for v in quads.into_remainder() {
            *v = _mm256_xor_si256(*v, k);
        }
        mask_words(tail, key);
    }

    /// SSE2: 16 bytes per XOR. SSE2 is baseline on x86_64, but Rust still wants
    /// the attribute before the intrinsics may be called safely.
    #[target_feature(enable = "sse2")]
    pub(super) fn mask_sse2(buf: &mut [u8], key: [u8; 4]) {
        // SAFETY: `__m128i` is plain data (any bit pattern is a valid value, no
        // drop glue), so viewing initialized bytes as it is sound; `align_to_mut`
        // guarantees the middle slice is in bounds and correctly aligned.
        let (head, body, tail) = unsafe { buf.align_to_mut::<__m128i>() };
        mask_words(head, key);
        let key = rotate_key(key, head.len());
        let k = _mm_set1_epi32(i32::from_le_bytes(key));
        let mut quads = body.chunks_exact_mut(4);
        for q in &mut quads {
            q[0] = _mm_xor_si128(q[0], k);
            q[1] = _mm_xor_si128(q[1], k);
            q[2] = _mm_xor_si128(q[2], k);
            q[3] = _mm_xor_si128(q[3], k);
        }
        for v in quads.into_remainder() {
            *v = _mm_xor_si128(*v, k);
        }
        mask_words(tail, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys with distinct bytes (so a wrong rotation shows), the all-zero key
    /// (a no-op that must stay one), and all-ones.
    const KEYS: [[u8; 4]; 4] = [
        [0x37, 0xfa, 0x21, 0x3d],
        [0x00, 0x00, 0x00, 0x00],
        [0xff, 0xff, 0xff, 0xff],
        [0x01, 0x80, 0x5a, 0xc3],
    ];

    /// Lengths up to 257 cover an empty buffer, every head and tail size, and
    /// several whole iterations of the 4-vector AVX-512 loop (256 bytes).
    const MAX_LEN: usize = 257;

    /// Offsets 0..64 put the slice start at every position within a 64-byte
    /// line, so every head length of every SIMD path is exercised.
    const OFFSETS: usize = 64;

    #[repr(C, align(64))]
    struct Aligned([u8; OFFSETS + MAX_LEN + 64]);

    fn pseudo_random(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x9e37_79b9;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn all_rotations() -> impl Iterator<Item = [u8; 4]> {
        KEYS.into_iter()
            .flat_map(|k| (0..4).map(move |r| rotate_key(k, r)))
    }

    /// Runs `f` on every (offset, length, key) slice of a 64-byte-aligned buffer
    /// and checks the whole buffer, so writes outside the slice are caught too.
    fn matches_scalar(name: &str, offsets: usize, f: impl Fn(&mut [u8], [u8; 4])) {
        let data = pseudo_random(OFFSETS + MAX_LEN + 64);
        let mut got = Aligned([0; OFFSETS + MAX_LEN + 64]);
        let mut want = data.clone();
        for key in all_rotations() {
            for off in 0..offsets {
                for len in 0..=MAX_LEN {
                    got.0.copy_from_slice(&data);
                    want.copy_from_slice(&data);
                    f(&mut got.0[off..off + len], key);
                    apply_mask_scalar(&mut want[off..off + len], key);
                    assert_eq!(
                        &got.0[..],
                        &want[..],
                        "{name}: offset {off}, length {len}, key {key:02x?}"
                    );
                }
            }
        }
    }

    #[test]
    fn apply_mask_matches_scalar() {
        matches_scalar("apply_mask", OFFSETS, apply_mask);
    }

    #[test]
    fn apply_mask_matches_scalar_on_unaligned_vec() {
        // The brief's minimum: offsets 0..=3 into an ordinary allocation.
        let data = pseudo_random(MAX_LEN + 4);
        for key in all_rotations() {
            for off in 0..=3 {
                for len in 0..=MAX_LEN {
                    let mut got = data.clone();
                    let mut want = data.clone();
                    apply_mask(&mut got[off..off + len], key);
                    apply_mask_scalar(&mut want[off..off + len], key);
                    assert_eq!(got, want, "offset {off}, length {len}, key {key:02x?}");
                }
            }
        }
    }

    #[test]
    fn words_match_scalar() {
        matches_scalar("words", OFFSETS, mask_words);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_matches_scalar() {
        // SAFETY: every x86_64 CPU has SSE2.
        matches_scalar("sse2", OFFSETS, |b, k| unsafe { x86::mask_sse2(b, k) });
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_matches_scalar() {
        if !is_x86_feature_detected!("avx2") {
            eprintln!("skipped: CPU has no AVX2");
            return;
        }
        // SAFETY: AVX2 support was checked above.
        matches_scalar("avx2", OFFSETS, |b, k| unsafe { x86::mask_avx2(b, k) });
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_matches_scalar() {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: CPU has no AVX-512F");
            return;
        }
        // SAFETY: AVX-512F support was checked above.
        matches_scalar("avx512", OFFSETS, |b, k| unsafe { x86::mask_avx512(b, k) });
    }

    #[test]
    fn large_buffer_matches_scalar() {
        // Long enough for many iterations of every unrolled loop.
        let data = pseudo_random(70_000);
        for off in 0..4 {
            let mut got = data.clone();
            let mut want = data.clone();
            apply_mask(&mut got[off..], KEYS[0]);
            apply_mask_scalar(&mut want[off..], KEYS[0]);
            assert!(got == want, "offset {off}");
        }
    }

    #[test]
    fn split_with_rotated_key_equals_whole() {
        let data = pseudo_random(300);
        for key in KEYS {
            let mut whole = data.clone();
            apply_mask(&mut whole, key);
            for k in 0..=data.len() {
                let mut parts = data.clone();
                let (first, second) = parts.split_at_mut(k);
                apply_mask(first, key);
                apply_mask(second, rotate_key(key, k));
                assert_eq!(parts, whole, "split at {k}, key {key:02x?}");
            }
        }
    }

    #[test]
    fn many_pieces_with_rotated_key_equal_whole() {
        // How a streaming decoder sees a payload: pieces of uneven sizes.
        let data = pseudo_random(5_000);
        let key = KEYS[3];
        let mut whole = data.clone();
        apply_mask_scalar(&mut whole, key);
        let mut pieces = data.clone();
        let mut offset = 0;
        for size in [1, 7, 64, 3, 200, 130, 2, 1024, 5, 99].into_iter().cycle() {
            if offset == pieces.len() {
                break;
            }
            let end = (offset + size).min(pieces.len());
            apply_mask(&mut pieces[offset..end], rotate_key(key, offset));
            offset = end;
        }
        assert_eq!(pieces, whole);
    }

    #[test]
    fn rotate_key_is_periodic() {
        let key = KEYS[0];
        assert_eq!(rotate_key(key, 0), key);
        assert_eq!(rotate_key(key, 1), [0xfa, 0x21, 0x3d, 0x37]);
        assert_eq!(rotate_key(key, 4), key);
        assert_eq!(rotate_key(key, 6), rotate_key(key, 2));
        assert_eq!(rotate_key(key, usize::MAX), rotate_key(key, 3));
    }

    #[test]
    fn rfc6455_hello_example() {
        // RFC 6455 §5.7: a masked text frame carrying "Hello".
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let key = [0x37, 0xfa, 0x21, 0x3d];
        apply_mask(&mut payload, key);
        assert_eq!(&payload, b"Hello");
        apply_mask(&mut payload, key);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }
}
