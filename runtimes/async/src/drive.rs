//! Carries out the driver's steps on a runtime's transport and timer: the one loop every
//! async runtime shares. The driver decides what comes next; each step is answered through
//! itself (the core's typed step contract), and the answer says what comes next.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use ropeway_core::driver::{BufferRead, Goal, ScratchRead, Sent, Step, TimerStep, WriteStep};
use ropeway_core::{Error, Message, SendOptions};

use crate::registry::Registration;
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
    pub(crate) fn poll_drive(&mut self, cx: &mut Context<'_>, goal: Goal) -> Poll<Step<'_>> {
        self.heed_registry();
        let step = self.driver.step_woken(goal);
        let registration = self.registration.as_deref();
        run_steps::<S, R>(&mut self.io, &mut self.wakeup, registration, cx, step)
    }

    /// Queues what other tasks left through the registry (group and broadcast messages,
    /// by reference) and starts the close it asked for (a shutdown, a slow consumer), with
    /// its deadline; the driver's steps do the rest.
    #[inline]
    fn heed_registry(&mut self) {
        if let Some(registration) = &self.registration
            && let Some(mail) = registration.take_mail()
        {
            for message in &mail.messages {
                // The shared frame as it is: compressing it would encode it per connection.
                // A connection that is closing takes no more; the message is dropped.
                let _ = self
                    .driver
                    .send_prepared(message, SendOptions { compress: false });
            }
            if let Some((frame, deadline)) = mail.close {
                // An invalid frame from the application is sent as none rather than not at
                // all.
                if self.driver.close_by(frame, deadline).is_err() {
                    let _ = self.driver.close_by(None, deadline);
                }
            }
        }
    }

    /// Sends `message` and writes it out: [`Driver::send_flushing`] queues it and hands
    /// out the first step in one call (the common path); while the output is over its
    /// limit the message waits in `unsent`.
    ///
    /// [`Driver::send_flushing`]: ropeway_core::driver::Driver::send_flushing
    pub(crate) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        unsent: &mut Option<Message>,
        options: SendOptions,
    ) -> Poll<Result<(), Error>> {
        self.heed_registry();
        loop {
            let Some(message) = unsent.take() else {
                return self.poll_drive(cx, Goal::Flushed).map(Step::into_done);
            };
            match self.driver.send_flushing(message, options)? {
                Sent::Queued(step) => {
                    let registration = self.registration.as_deref();
                    let polled =
                        run_steps::<S, R>(&mut self.io, &mut self.wakeup, registration, cx, step);
                    return polled.map(Step::into_done);
                }
                Sent::NotReady(message) => {
                    *unsent = Some(message);
                    match self.poll_drive(cx, Goal::SendReady) {
                        Poll::Ready(step) => step.into_send_ready()?,
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }
        }
    }
}

/// Carries out steps, from `step` on, until one is reached or everything waits.
/// A registered connection parks with its registration before it waits: the registry may
/// wake it with mail, and weighs its queued output for the slow-consumer policy.
fn run_steps<'a, S: Unpin, R: Io<S>>(
    io: &mut S,
    wakeup: &mut Option<Box<Wakeup<R>>>,
    registration: Option<&Registration>,
    cx: &mut Context<'_>,
    mut step: Step<'a>,
) -> Poll<Step<'a>> {
    loop {
        step = match step {
            Step::Wait(wait) => {
                if let Some(registration) = registration {
                    registration.note_queued_output(wait.queued_output());
                    registration.park(cx);
                }
                return Poll::Pending;
            }
            Step::Yield => {
                // Let the executor run other tasks (smol has no cooperative budget of
                // its own), then come straight back.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Step::Write(write) => write_step::<S, R>(io, cx, write),
            Step::Flush(flush) => match R::poll_flush(Pin::new(&mut *io), cx) {
                Poll::Ready(Ok(())) => flush.flushed(),
                Poll::Ready(Err(e)) => flush.failed(e),
                Poll::Pending => flush.blocked(R::now()),
            },
            Step::ReadScratch(read) => read_scratch::<S, R>(io, cx, read),
            Step::ReadBuffer(read) => read_buffer::<S, R>(io, cx, read),
            Step::Timer(timer) => timer_step::<R>(wakeup, cx, timer),
            Step::Shutdown(shutdown) => match R::poll_shutdown(Pin::new(&mut *io), cx) {
                Poll::Ready(_) => {
                    *wakeup = None;
                    shutdown.done()
                }
                Poll::Pending => shutdown.blocked(R::now()),
            },
            reached => return Poll::Ready(reached),
        }
    }
}

/// One write of the queued output; several frames go out at once.
fn write_step<'a, S: Unpin, R: Io<S>>(
    io: &mut S,
    cx: &mut Context<'_>,
    mut step: WriteStep<'a>,
) -> Step<'a> {
    let io = Pin::new(io);
    let written = if R::is_write_vectored(&io) {
        // Headers and payloads queued by reference go out in one write; contiguous output
        // is one slice.
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let count = step.vectored(R::now, &mut slices);
        match count {
            // One buffer: a plain write is cheaper in the kernel.
            1 => R::poll_write(io, cx, &slices[0]),
            _ => R::poll_write_vectored(io, cx, &slices[..count]),
        }
    } else {
        R::poll_write(io, cx, step.bytes(R::now))
    };
    match written {
        Poll::Ready(Ok(n)) => step.written(n),
        Poll::Ready(Err(e)) => step.failed(e),
        Poll::Pending => step.blocked(R::now()),
    }
}

/// One read into the binding's scratch (nothing buffered: an idle connection holds no
/// buffer).
fn read_scratch<'a, S: Unpin, R: Io<S>>(
    io: &mut S,
    cx: &mut Context<'_>,
    step: ScratchRead<'a>,
) -> Step<'a> {
    let mut step = Some(step);
    let mut after = None;
    let result = R::poll_read_scratch(Pin::new(io), cx, |bytes| {
        after = step.take().map(|step| step.read(bytes));
    });
    match (after, step) {
        (Some(next), _) => next,
        (None, Some(step)) => match result {
            Poll::Pending => step.blocked(),
            Poll::Ready(Err(e)) => step.failed(e),
            // A binding that reports a read without handing the bytes over broke its
            // contract: an error, not a hang.
            Poll::Ready(Ok(())) => step.failed(io::Error::other("a scratch read lost its bytes")),
        },
        // The step was answered only if `after` was set; polling again is harmless anyway.
        (None, None) => Step::Yield,
    }
}

/// One read into the driver's buffer (a frame in progress, or large reads).
fn read_buffer<'a, S: Unpin, R: Io<S>>(
    io: &mut S,
    cx: &mut Context<'_>,
    mut step: BufferRead<'a>,
) -> Step<'a> {
    match R::poll_read_buf(Pin::new(io), cx, step.buf()) {
        Poll::Ready(Ok(n)) => step.filled(n),
        Poll::Ready(Err(e)) => step.failed(e),
        Poll::Pending => step.blocked(),
    }
}

/// Sets the one timer for the step's deadline and fires the core's timers if it has passed.
fn timer_step<'a, R: Runtime>(
    wakeup: &mut Option<Box<Wakeup<R>>>,
    cx: &mut Context<'_>,
    step: TimerStep<'a>,
) -> Step<'a> {
    let deadline = step.deadline();
    let now = R::now();
    if now >= deadline {
        return step.expired(now);
    }
    let wakeup = match wakeup {
        Some(wakeup) => {
            if wakeup.deadline != Some(deadline) {
                R::reset_timer(wakeup.timer.as_mut(), deadline);
                wakeup.deadline = Some(deadline);
            }
            wakeup
        }
        None => wakeup.insert(Box::new(Wakeup {
            timer: Box::pin(R::timer(deadline)),
            deadline: Some(deadline),
        })),
    };
    if R::poll_timer(wakeup.timer.as_mut(), cx).is_ready() {
        wakeup.deadline = None;
        step.expired(R::now())
    } else {
        step.armed()
    }
}
