//! An in-memory duplex transport for futures-io, from two one-way `piper` pipes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One end of an in-memory duplex pipe.
pub struct Pipe {
    reader: piper::Reader,
    writer: piper::Writer,
}

impl Pipe {
    /// Two connected ends, each direction buffering up to `capacity` bytes.
    pub fn pair(capacity: usize) -> (Pipe, Pipe) {
        let (a_reader, a_writer) = piper::pipe(capacity);
        let (b_reader, b_writer) = piper::pipe(capacity);
        (
            Pipe {
                reader: a_reader,
                writer: b_writer,
            },
            Pipe {
                reader: b_reader,
                writer: a_writer,
            },
        )
    }
}

impl futures_io::AsyncRead for Pipe {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for Pipe {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_close(cx)
    }
}
