//! One HTTP/2 stream as a byte transport (`AsyncRead + AsyncWrite`) for a client WebSocket,
//! over the `h2` crate's stream handles, with HTTP/2 flow control carried through:
//!
//! * Reading gives window back to the peer only for bytes the WebSocket has taken, so a
//!   WebSocket that stops reading stops its peer after one stream window, and holds no more
//!   than that window of unread data.
//! * Writing asks h2 for window first and hands it at most that much; a peer that does not
//!   read leaves the write pending (the driver's output limit and write-stall timer take
//!   over), while other streams on the connection keep their own windows.
//! * Shutdown sends an empty DATA frame with END_STREAM; dropping the stream before both
//!   halves have ended resets it (RST_STREAM CANCEL), the HTTP/2 counterpart of a TCP abort.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use h2::{Reason, RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most one write hands to h2 at once: larger writes go in several, so one WebSocket
/// cannot reserve a whole connection window for itself in one go.
const MAX_WRITE: usize = 64 * 1024;

/// An HTTP/2 stream carrying a WebSocket (RFC 8441 §5): the DATA frames in both directions
/// are the WebSocket's bytes.
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// Received and not yet read; its window is given back as it is read.
    buf: Bytes,
    /// END_STREAM was sent.
    ended: bool,
}

impl std::fmt::Debug for H2Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Stream")
            .field("id", &self.send.stream_id().as_u32())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl H2Stream {
    pub(crate) fn new(send: SendStream<Bytes>, recv: RecvStream) -> Self {
        H2Stream {
            send,
            recv,
            buf: Bytes::new(),
            ended: false,
        }
    }

    /// The stream's id on its connection.
    pub fn stream_id(&self) -> u32 {
        self.send.stream_id().as_u32()
    }

    /// Resets the stream (RST_STREAM with `reason`): the abrupt end, for a peer that is gone
    /// or misbehaves. Nothing more is sent or received on it.
    pub fn reset(&mut self, reason: Reason) {
        self.ended = true;
        self.send.send_reset(reason);
    }
}

impl Drop for H2Stream {
    fn drop(&mut self) {
        // A clean end is both halves closed: our END_STREAM sent and the peer's read. Short
        // of that (dropped mid-connection, or our END_STREAM still queued behind data a
        // stalled peer never took), reset: the peer learns at once, and h2 frees the
        // stream's buffered output and its place under the peer's stream limit instead of
        // keeping them until the connection ends. On a stream already closed it does nothing.
        if !(self.ended && self.recv.is_end_stream()) {
            self.send.send_reset(Reason::CANCEL);
        }
    }
}

/// An h2 error as an I/O error: a reset by the peer is `ConnectionReset` (the WebSocket then
/// reports an abnormal closure, 1006, if no close frame came first).
fn io_error(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e
            .into_io()
            .unwrap_or_else(|| io::Error::other("h2 I/O error"));
    }
    if e.is_reset() {
        return io::Error::new(io::ErrorKind::ConnectionReset, e);
    }
    io::Error::other(e)
}

impl AsyncRead for H2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.buf.is_empty() {
            match ready!(this.recv.poll_data(cx)) {
                // END_STREAM: the peer's half is closed, an EOF.
                None => return Poll::Ready(Ok(())),
                Some(Ok(data)) => this.buf = data,
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
            }
        }
        let n = this.buf.len().min(out.remaining());
        out.put_slice(&this.buf[..n]);
        this.buf.advance(n);
        // The window comes back only for what the WebSocket took. An error here means the
        // stream has ended; the next poll_data reports it.
        let _ = this.recv.flow_control().release_capacity(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.ended {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let want = data.len().min(MAX_WRITE);
        this.send.reserve_capacity(want);
        while this.send.capacity() == 0 {
            match ready!(this.send.poll_capacity(cx)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
                // The stream is no longer open for sending: reset by the peer.
                None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            }
        }
        let n = this.send.capacity().min(want);
        let chunk = Bytes::copy_from_slice(&data[..n]);
        this.send.send_data(chunk, false).map_err(io_error)?;
        // Nothing more is wanted until the next write: keeping a reservation would pin
        // connection window that other streams need.
        this.send.reserve_capacity(0);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The connection task writes queued frames as soon as it can; h2 bounds how much it
        // queues (its send buffer), so there is nothing to wait for here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.ended {
            this.ended = true;
            // END_STREAM on an empty DATA frame: the clean end of this side (RFC 8441 §5
            // maps it to a TCP FIN).
            if let Err(e) = this.send.send_data(Bytes::new(), true) {
                return Poll::Ready(Err(io_error(e)));
            }
        }
        Poll::Ready(Ok(()))
    }
}
