//! The part of the output queue that holds buffers by reference: frame headers and the large
//! payloads sent without copying, in order, ahead of the encoder's byte buffer.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

/// The most buffers an empty queue keeps room for (see [`ChunkQueue::shrink`]): 32 × 32 B,
/// a turn's worth of broadcast deliveries to one member under the load driver's window.
const KEPT_CAPACITY: usize = 32;

/// Buffers queued by reference. Empty, it is one null pointer: most connections never queue
/// a payload by reference, and every idle connection carries this for its whole life.
#[derive(Default)]
pub(super) struct ChunkQueue {
    inner: Option<Box<Chunks>>,
}

#[derive(Default)]
struct Chunks {
    buffers: VecDeque<Bytes>,
    /// Bytes in `buffers`.
    len: usize,
}

impl ChunkQueue {
    /// Bytes queued.
    pub(super) fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |c| c.len)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a buffer; empty ones are skipped.
    pub(super) fn push(&mut self, buffer: Bytes) {
        if buffer.is_empty() {
            return;
        }
        let chunks = self.inner.get_or_insert_with(Box::default);
        chunks.len += buffer.len();
        chunks.buffers.push_back(buffer);
    }

    /// The first queued buffer.
    pub(super) fn front(&self) -> Option<&Bytes> {
        self.inner.as_ref()?.buffers.front()
    }

    /// The queued buffers, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Bytes> {
        self.inner.iter().flat_map(|c| c.buffers.iter())
    }

    /// Takes up to `n` bytes off the front; returns how many of `n` were left over.
    pub(super) fn advance(&mut self, mut n: usize) -> usize {
        let Some(chunks) = self.inner.as_mut() else {
            return n;
        };
        while n > 0 {
            let Some(front) = chunks.buffers.front_mut() else {
                break;
            };
            let k = n.min(front.len());
            front.advance(k);
            chunks.len -= k;
            n -= k;
            if front.is_empty() {
                chunks.buffers.pop_front();
            }
        }
        n
    }

    /// Moves everything queued to the end of `out`, in order.
    pub(super) fn drain_into(&mut self, out: &mut BytesMut) {
        if let Some(chunks) = self.inner.as_mut() {
            for buffer in chunks.buffers.drain(..) {
                out.extend_from_slice(&buffer);
            }
            chunks.len = 0;
        }
    }

    /// Frees the queue's allocation if nothing is queued and it has grown past
    /// [`KEPT_CAPACITY`] buffers. A small one is kept: a broadcast's subscriber queues shared
    /// frames every time it is sent to and goes idle after each write, and freeing the queue
    /// then would cost two allocations per delivery turn. A connection that never queued by
    /// reference (most of them) still holds only a null pointer.
    pub(super) fn shrink(&mut self) {
        if self
            .inner
            .as_ref()
            .is_some_and(|c| c.len == 0 && c.buffers.capacity() > KEPT_CAPACITY)
        {
            self.inner = None;
        }
    }
}
