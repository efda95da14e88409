//! One idle compressor and one idle decompressor per thread, passed between messages and
//! connections.
//!
//! Without context takeover every message starts from a fresh DEFLATE state, so a
//! connection holds none between messages. Allocating and zeroing a new state for every
//! message (about 256 KiB to compress with a 15-bit window, 40 KiB to inflate) would then
//! cost more than the compression; instead the state is reset and parked here, and the
//! next message on this thread (of this connection or another) takes it: one compressor per
//! thread, as uWebSockets shares one per loop. At most one of each per thread; a parked
//! state is only taken for the same level and window it was made for.

use std::cell::Cell;

use flate2::{Compress, Compression, Decompress};

/// A reset compressor and what it was made for.
struct ParkedCompressor {
    level: u32,
    window: u8,
    state: Compress,
}

/// A reset decompressor and its window.
struct ParkedDecompressor {
    window: u8,
    state: Decompress,
}

thread_local! {
    static COMPRESSOR: Cell<Option<ParkedCompressor>> = const { Cell::new(None) };
    static DECOMPRESSOR: Cell<Option<ParkedDecompressor>> = const { Cell::new(None) };
}

/// A fresh compressor for `level` and `window`: this thread's parked one if it fits.
pub(super) fn compressor(level: Compression, window: u8) -> Compress {
    let parked = COMPRESSOR.with(Cell::take);
    match parked {
        Some(p) if p.level == level.level() && p.window == window => p.state,
        other => {
            // A state made for other settings goes back for whoever uses those.
            COMPRESSOR.with(|slot| slot.set(other));
            Compress::new_with_window_bits(level, false, window)
        }
    }
}

/// Resets `state` (made for `level` and `window`) and parks it for the next message on
/// this thread, if none is parked.
pub(super) fn park_compressor(level: Compression, window: u8, mut state: Compress) {
    state.reset();
    COMPRESSOR.with(|slot| {
        let held = slot.take();
        slot.set(held.or(Some(ParkedCompressor {
            level: level.level(),
            window,
            state,
        })));
    });
}

/// A fresh raw decompressor for `window`: this thread's parked one if it fits.
pub(super) fn decompressor(window: u8) -> Decompress {
    let parked = DECOMPRESSOR.with(Cell::take);
    match parked {
        Some(p) if p.window == window => p.state,
        other => {
            DECOMPRESSOR.with(|slot| slot.set(other));
            Decompress::new_with_window_bits(false, window)
        }
    }
}

/// Resets `state` (made for `window`) and parks it for the next message on this thread, if
/// none is parked.
pub(super) fn park_decompressor(window: u8, mut state: Decompress) {
    state.reset(false);
    DECOMPRESSOR.with(|slot| {
        let held = slot.take();
        slot.set(held.or(Some(ParkedDecompressor { window, state })));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{FlushCompress, FlushDecompress};

    fn compress_once(state: &mut Compress, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() + 64);
        state
            .compress_vec(input, &mut out, FlushCompress::Sync)
            .unwrap();
        out
    }

    #[test]
    fn a_parked_compressor_starts_afresh() {
        let level = Compression::new(6);
        let mut first = compressor(level, 15);
        let fresh = compress_once(&mut first, b"hello hello hello");
        park_compressor(level, 15, first);
        let mut again = compressor(level, 15);
        assert_eq!(compress_once(&mut again, b"hello hello hello"), fresh);
    }

    #[test]
    fn a_parked_state_is_only_taken_for_its_own_settings() {
        let level = Compression::new(6);
        park_compressor(level, 15, Compress::new_with_window_bits(level, false, 15));
        let other = compressor(level, 9);
        // The 15-bit state stayed parked; the 9-bit request got its own.
        assert!(COMPRESSOR.with(|slot| {
            let held = slot.take();
            let fits = held.as_ref().is_some_and(|p| p.window == 15);
            slot.set(held);
            fits
        }));
        drop(other);
        let mut inflater = decompressor(15);
        let mut out = Vec::with_capacity(64);
        inflater
            .decompress_vec(&[0x02, 0x00], &mut out, FlushDecompress::Sync)
            .unwrap();
        park_decompressor(15, inflater);
        let inflater = decompressor(15);
        assert_eq!(inflater.total_in(), 0, "reset before it was parked");
    }
}
