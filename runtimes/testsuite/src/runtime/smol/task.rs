//! A task on a thread of its own, joinable.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::oneshot;

/// A future running on a new thread under `smol::block_on`. Awaiting it yields the
/// future's output, or re-raises its panic; dropping it lets the thread run on.
pub struct ThreadTask<O> {
    rx: oneshot::Receiver<std::thread::Result<O>>,
}

impl<O: Send + 'static> ThreadTask<O> {
    /// Runs `future` on a new thread.
    pub fn spawn<F>(future: F) -> Self
    where
        F: Future<Output = O> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| smol::block_on(future)));
            let _ = tx.send(outcome);
        });
        ThreadTask { rx }
    }
}

impl<O> Future for ThreadTask<O> {
    type Output = O;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(Ok(output))) => Poll::Ready(output),
            Poll::Ready(Ok(Err(panic))) => resume_unwind(panic),
            Poll::Ready(Err(_)) => panic!("the task's thread ended without an outcome"),
            Poll::Pending => Poll::Pending,
        }
    }
}
