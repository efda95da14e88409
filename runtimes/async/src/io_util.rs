//! The few transport calls of the opening handshake (whose reads and writes are few and
//! small), and a deadline for them, built on [`Io`] and [`Runtime`].

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;

use crate::runtime::{Io, Runtime};

/// Writes all of `buf`.
pub(crate) async fn write_all<R: Io<S>, S: Unpin>(io: &mut S, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| R::poll_write(Pin::new(&mut *io), cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Flushes the transport.
pub(crate) async fn flush<R: Io<S>, S: Unpin>(io: &mut S) -> io::Result<()> {
    poll_fn(|cx| R::poll_flush(Pin::new(&mut *io), cx)).await
}

/// Shuts the transport's write side down.
pub(crate) async fn shutdown<R: Io<S>, S: Unpin>(io: &mut S) -> io::Result<()> {
    poll_fn(|cx| R::poll_shutdown(Pin::new(&mut *io), cx)).await
}

/// Reads once, appending to `buf`; 0 at the end of the stream.
pub(crate) async fn read_buf<R: Io<S>, S: Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
) -> io::Result<usize> {
    poll_fn(|cx| R::poll_read_buf(Pin::new(&mut *io), cx, buf)).await
}

/// Runs `future` for at most `limit` on `R`'s timer; `None` if the time ran out first (the
/// future is then dropped).
pub async fn timeout<R: Runtime, F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut timer = pin!(R::timer(R::now() + limit));
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        R::poll_timer(timer.as_mut(), cx).map(|()| None)
    })
    .await
}
