//! One chunk per thread that small reads are carved from.
//!
//! A read into the caller's scratch that leaves bytes to keep (usually one or a few whole
//! small frames) used to be copied into a fresh allocation of exactly its size, so every
//! small message cost a malloc and, once the application dropped its payload, a free. Here
//! it is copied into the thread's chunk instead and split off: the payload shares the
//! chunk's allocation (a reference count), and the chunk is reused from its start once every
//! piece of it is gone. While any piece lives (a message the application keeps), a new chunk
//! is allocated for the next reads, so a kept payload holds at most one [`CHUNK`].

use std::cell::Cell;

use bytes::BytesMut;

/// The chunk's size: 64 reads of a 20 B echo, 15 of 512 B.
const CHUNK: usize = 8 << 10;

/// Reads at most this large are carved; larger ones get their own allocation (a message
/// kept for long should not pin a chunk much larger than itself).
pub(super) const CARVED_MAX: usize = 1 << 10;

thread_local! {
    static CHUNK_LEFT: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// `bytes` in a buffer of their own length, carved from the thread's chunk.
pub(super) fn carve(bytes: &[u8]) -> BytesMut {
    debug_assert!(bytes.len() <= CARVED_MAX);
    CHUNK_LEFT.with(|cell| {
        let mut chunk = cell.take().unwrap_or_default();
        if chunk.capacity() < bytes.len() {
            // Reuses the chunk's allocation from its start when every piece is gone;
            // allocates a new chunk otherwise.
            chunk.reserve(CHUNK);
        }
        chunk.extend_from_slice(bytes);
        let piece = chunk.split();
        cell.set(Some(chunk));
        piece
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_hold_their_bytes_and_the_chunk_is_reused() {
        let a = carve(b"hello");
        let b = carve(b"world");
        assert_eq!((&a[..], &b[..]), (&b"hello"[..], &b"world"[..]));
        // A piece cannot grow into its neighbour's bytes.
        assert_eq!(a.capacity(), 5);
        drop((a, b));
        // Past one chunk's worth, with every earlier piece gone: still correct bytes.
        let pieces: Vec<BytesMut> = (0..3 * CHUNK / CARVED_MAX)
            .map(|i| carve(&[i as u8; CARVED_MAX]))
            .collect();
        for (i, piece) in pieces.iter().enumerate() {
            assert!(piece.iter().all(|&b| b == i as u8));
        }
    }

    #[test]
    fn a_carved_piece_grows_without_touching_the_chunk() {
        let mut a = carve(b"ab");
        let b = carve(b"cd");
        a.extend_from_slice(b"xyz");
        assert_eq!((&a[..], &b[..]), (&b"abxyz"[..], &b"cd"[..]));
    }
}
