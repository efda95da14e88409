//! Carries out the driver's steps on a runtime's transport and timer: the one loop every
//! async runtime shares. The driver decides what comes next; this file only does it and
//! reports what happened.

use std::io::IoSlice;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use ropeway_core::driver::{Goal, Next, ReadInto};

use crate::runtime::{Io, Runtime};
use crate::websocket::WebSocket;

/// Buffers handed to one vectored write.
const WRITE_SLICES: usize = 16;

/// A connection's one timer and the deadline it is set for (`None` once it fired: a fired
/// timer of some runtimes never fires again until reset, so the next deadline always resets
/// it, even an equal one).
pub(crate) struct Wakeup<R: Runtime> {
    timer: Pin<Box<R::Timer>>,
    deadline: Option<Instant>,
}

impl<S: Unpin, R: Io<S>> WebSocket<S, R> {
    /// Carries out the driver's steps towards `goal` until it is reached (a message, an
    /// event, ready, ended) or everything waits.
    pub(crate) fn poll_drive(&mut self, cx: &mut Context<'_>, goal: Goal) -> Poll<Next> {
        self.driver.handle_wakeup();
        loop {
            // The I/O steps own nothing: dropping them needs no call.
            let next = ManuallyDrop::new(self.driver.poll(goal));
            match &*next {
                Next::Wait { .. } => return Poll::Pending,
                Next::Write => self.write(cx),
                Next::Flush => self.flush(cx),
                Next::Read => {
                    if self.read(cx) {
                        // Blocked, and nothing else to do: the driver would say Wait.
                        return Poll::Pending;
                    }
                }
                &Next::Timer(deadline) => self.poll_timer(cx, deadline),
                Next::Shutdown { .. } => match R::poll_shutdown(Pin::new(&mut self.io), cx) {
                    Poll::Ready(_) => {
                        self.wakeup = None;
                        self.driver.handle_shutdown();
                    }
                    Poll::Pending => self.driver.handle_write_blocked(R::now()),
                },
                _ => return Poll::Ready(ManuallyDrop::into_inner(next)),
            }
        }
    }

    /// One write of the queued output; several frames go out at once.
    fn write(&mut self, cx: &mut Context<'_>) {
        let clock = R::now;
        let io = Pin::new(&mut self.io);
        let written = if !self.driver.transmit_is_contiguous() && R::is_write_vectored(&io) {
            // Headers and payloads queued by reference go out in one write.
            let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
            let count = self.driver.poll_transmit_vectored(clock, &mut slices);
            match count {
                // One buffer: a plain write is cheaper in the kernel.
                1 => R::poll_write(io, cx, &slices[0]),
                _ => R::poll_write_vectored(io, cx, &slices[..count]),
            }
        } else {
            R::poll_write(io, cx, self.driver.poll_transmit_with(clock))
        };
        match written {
            Poll::Ready(Ok(n)) => {
                if self.driver.handle_written(n) {
                    self.flush(cx);
                }
            }
            Poll::Ready(Err(e)) => self.driver.handle_io_error(e),
            Poll::Pending => self.driver.handle_write_blocked(R::now()),
        }
    }

    fn flush(&mut self, cx: &mut Context<'_>) {
        match R::poll_flush(Pin::new(&mut self.io), cx) {
            Poll::Ready(Ok(())) => self.driver.handle_flushed(),
            Poll::Ready(Err(e)) => self.driver.handle_io_error(e),
            Poll::Pending => self.driver.handle_write_blocked(R::now()),
        }
    }

    /// One read, where the driver says: into the binding's scratch while nothing is buffered
    /// (an idle connection holds no buffer), else into the driver's buffer.
    /// Returns whether it was blocked with nothing else to do (wait now).
    fn read(&mut self, cx: &mut Context<'_>) -> bool {
        let io = Pin::new(&mut self.io);
        let driver = &mut self.driver;
        let result = match driver.read_into() {
            ReadInto::Scratch => {
                R::poll_read_scratch(io, cx, |read| driver.handle_read_slice(read))
                    .map_ok(|()| None)
            }
            ReadInto::Buffer(buf) => R::poll_read_buf(io, cx, buf).map_ok(Some),
        };
        match result {
            Poll::Ready(Ok(Some(n))) => {
                self.driver.handle_read(n);
                false
            }
            Poll::Ready(Ok(None)) => false,
            Poll::Ready(Err(e)) => {
                self.driver.handle_io_error(e);
                false
            }
            Poll::Pending => self.driver.handle_read_blocked(),
        }
    }

    /// Sets the one timer for `deadline` and fires the core's timers if it has passed.
    fn poll_timer(&mut self, cx: &mut Context<'_>, deadline: Instant) {
        let now = R::now();
        if now >= deadline {
            self.driver.handle_timeout(now);
            return;
        }
        let wakeup = match &mut self.wakeup {
            Some(wakeup) => {
                if wakeup.deadline != Some(deadline) {
                    R::reset_timer(wakeup.timer.as_mut(), deadline);
                    wakeup.deadline = Some(deadline);
                }
                wakeup
            }
            None => self.wakeup.insert(Box::new(Wakeup {
                timer: Box::pin(R::timer(deadline)),
                deadline: Some(deadline),
            })),
        };
        if R::poll_timer(wakeup.timer.as_mut(), cx).is_ready() {
            wakeup.deadline = None;
            self.driver.handle_timeout(R::now());
        } else {
            self.driver.handle_timer_pending();
        }
    }
}
