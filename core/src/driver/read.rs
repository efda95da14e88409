//! The read-buffer policy: where each read goes, how large it is, and when buffers are
//! given up, so that an idle connection holds no buffer and large frames are not copied.

use bytes::BytesMut;

use super::carve::{CARVED_MAX, carve};
use super::next::ReadInto;

/// Bytes a caller reads at once into its own scratch while nothing is buffered. Large
/// enough that a 16 KiB message arrives in one read; small next to a thread's stack.
pub const READ_SCRATCH: usize = 32 << 10;

/// A read at least this large switches to reading straight into a heap buffer: copying out
/// of the scratch then costs more than the allocation that a read finding nothing wastes.
const DIRECT_READ_MIN: usize = 4 << 10;

/// `len` in KiB, rounded up, saturating at 255.
fn kib(len: usize) -> u8 {
    u8::try_from(len.div_ceil(1024)).unwrap_or(u8::MAX)
}

/// The read buffer and the policy that fills it.
#[derive(Debug)]
pub(super) struct Reader {
    /// Bytes read and not yet decoded.
    pub(super) buf: BytesMut,
    /// How much to read at once; a `u32` packs next to the byte below.
    size: u32,
    /// KiB to read straight into a heap buffer while large frames keep arriving (0: read
    /// into the caller's scratch first).
    direct_kib: u8,
    /// The read handed out last goes straight into an empty heap buffer: its size decides
    /// whether the next one does too. (Asked after the read, the buffer is no longer empty.)
    reading_direct: bool,
}

impl Reader {
    pub(super) fn new(buffered: BytesMut, read_buffer_size: usize) -> Self {
        Reader {
            buf: buffered,
            size: read_buffer_size.clamp(256, u32::MAX as usize) as u32,
            direct_kib: 0,
            reading_direct: false,
        }
    }

    fn size(&self) -> usize {
        self.size as usize
    }

    /// Whether the next read goes into the caller's scratch (nothing buffered, reads small).
    pub(super) fn wants_scratch(&self) -> bool {
        self.buf.is_empty() && self.direct_kib == 0
    }

    /// Where the next read goes. `frame_rest` is how much more the frame in progress needs
    /// (already checked against the frame limit); `partial` callers take pieces as they come
    /// and need no more than a read's worth.
    pub(super) fn read_into(&mut self, frame_rest: usize, partial: bool) -> ReadInto<'_> {
        if self.wants_scratch() {
            return ReadInto::Scratch;
        }
        ReadInto::Buffer(self.buffer_for_read(frame_rest, partial))
    }

    /// The buffer, with room made for the next read (see [`Reader::read_into`]).
    pub(super) fn buffer_for_read(&mut self, frame_rest: usize, partial: bool) -> &mut BytesMut {
        self.reading_direct = self.buf.is_empty();
        if self.buf.is_empty() {
            let direct = usize::from(self.direct_kib) << 10;
            self.buf.reserve(direct.max(self.size()));
            return &mut self.buf;
        }
        let want = if partial {
            self.size()
        } else {
            frame_rest.max(self.size())
        };
        if self.buf.capacity() - self.buf.len() < self.size() / 2 {
            self.buf.reserve(want);
        }
        &mut self.buf
    }

    /// How much the next read may add to what the buffers hold: a scratch read's bytes are
    /// kept (at most [`READ_SCRATCH`]), a buffer read reserves room as
    /// [`Reader::buffer_for_read`] does.
    pub(super) fn growth_for_read(&self, frame_rest: usize, partial: bool) -> usize {
        if self.wants_scratch() {
            return READ_SCRATCH;
        }
        let spare = self.buf.capacity() - self.buf.len();
        if self.buf.is_empty() {
            let direct = usize::from(self.direct_kib) << 10;
            return direct.max(self.size()).saturating_sub(spare);
        }
        if spare >= self.size() / 2 {
            return 0;
        }
        let want = if partial {
            self.size()
        } else {
            frame_rest.max(self.size())
        };
        want.saturating_sub(spare)
    }

    /// `n` bytes were read into the buffer. While reads stay large, the next one goes
    /// straight into a buffer sized like this one; a small one goes back to the scratch.
    pub(super) fn filled(&mut self, n: usize) {
        if std::mem::take(&mut self.reading_direct) {
            self.direct_kib = if n >= DIRECT_READ_MIN { kib(n) } else { 0 };
        }
    }

    /// Bytes read into the caller's scratch: kept exactly (usually whole frames, whose
    /// payloads the application takes as `Bytes`), appended to what is buffered.
    pub(super) fn filled_from(&mut self, bytes: &[u8]) {
        if bytes.len() >= DIRECT_READ_MIN {
            self.direct_kib = kib(bytes.len());
        }
        if self.buf.is_empty() {
            // Small reads share a per-thread chunk instead of an allocation each.
            self.buf = if bytes.len() <= CARVED_MAX {
                carve(bytes)
            } else {
                BytesMut::from(bytes)
            };
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Gives the buffer up when it holds nothing (waiting for input).
    pub(super) fn release_if_empty(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }

    /// Gives everything up (the connection ended).
    pub(super) fn release(&mut self) {
        self.buf = BytesMut::new();
    }
}
