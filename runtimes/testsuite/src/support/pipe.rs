//! Moving bytes between two transports of one runtime, through [`Io`]: what a proxy in a
//! test does once its tunnel is open.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;

use bytes::{Buf, BytesMut};
use ropeway_async::Io;

/// Writes all of `bytes` to `io` and flushes.
pub async fn write_all<R: Io<S>, S: Unpin>(io: &mut S, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = poll_fn(|cx| R::poll_write(Pin::new(&mut *io), cx, bytes))
            .await
            .expect("write");
        bytes = &bytes[n..];
    }
    poll_fn(|cx| R::poll_flush(Pin::new(&mut *io), cx))
        .await
        .expect("flush");
}

/// Copies bytes from `a` to `b` and from `b` to `a` until either side ends or fails, then
/// shuts both down (a TLS side with its close_notify), as a proxy ends its tunnel.
pub async fn copy_both_ways<R: Io<A> + Io<B>, A: Unpin, B: Unpin>(a: &mut A, b: &mut B) {
    copy_until_an_end::<R, A, B>(a, b).await;
    let _ = poll_fn(|cx| <R as Io<A>>::poll_shutdown(Pin::new(&mut *a), cx)).await;
    let _ = poll_fn(|cx| <R as Io<B>>::poll_shutdown(Pin::new(&mut *b), cx)).await;
}

async fn copy_until_an_end<R: Io<A> + Io<B>, A: Unpin, B: Unpin>(a: &mut A, b: &mut B) {
    let (mut a_to_b, mut b_to_a) = (BytesMut::new(), BytesMut::new());
    poll_fn(|cx| {
        loop {
            let mut moved = false;
            match step::<R, A, B>(a, b, &mut a_to_b, cx) {
                Poll::Ready(false) => return Poll::Ready(()),
                Poll::Ready(true) => moved = true,
                Poll::Pending => {}
            }
            match step::<R, B, A>(b, a, &mut b_to_a, cx) {
                Poll::Ready(false) => return Poll::Ready(()),
                Poll::Ready(true) => moved = true,
                Poll::Pending => {}
            }
            if !moved {
                return Poll::Pending;
            }
        }
    })
    .await
}

/// One read from `from` (when `buf` is empty) or one write of `buf` to `to`: `Ready(true)`
/// for progress, `Ready(false)` at the end or a failure.
fn step<R: Io<F> + Io<T>, F: Unpin, T: Unpin>(
    from: &mut F,
    to: &mut T,
    buf: &mut BytesMut,
    cx: &mut std::task::Context<'_>,
) -> Poll<bool> {
    if buf.is_empty() {
        return match <R as Io<F>>::poll_read_buf(Pin::new(from), cx, buf) {
            Poll::Ready(Ok(n)) => Poll::Ready(n > 0),
            Poll::Ready(Err(_)) => Poll::Ready(false),
            Poll::Pending => Poll::Pending,
        };
    }
    match <R as Io<T>>::poll_write(Pin::new(&mut *to), cx, buf) {
        Poll::Ready(Ok(n)) if n > 0 => {
            buf.advance(n);
            // TLS holds records until flushed.
            let _ = <R as Io<T>>::poll_flush(Pin::new(to), cx);
            Poll::Ready(true)
        }
        Poll::Ready(_) => Poll::Ready(false),
        Poll::Pending => Poll::Pending,
    }
}
