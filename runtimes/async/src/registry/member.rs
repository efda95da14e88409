//! One connection's side of a registry: the mailbox other tasks leave closes and messages
//! in, and the registration the connection holds while it is open.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Waker};
use std::time::Instant;

use ropeway_core::{CloseFrame, PreparedMessage, SlowConsumer};

use super::{ConnectionId, Shared};

/// A close a registry asks of a connection: the frame and the deadline of its handshake.
pub(crate) type CloseOrder = (Option<CloseFrame>, Instant);

/// What became of a message left for one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Queued; it goes out when the connection's task next runs.
    Queued,
    /// Dropped: the connection's output was at its limit ([`SlowConsumer::Drop`]).
    Dropped,
    /// The connection's output was at its limit and it is being closed
    /// ([`SlowConsumer::Close`]); the message was not queued.
    Closing,
    /// No open connection has that id.
    NotOpen,
}

/// What other tasks left for a connection, and the task to wake for it.
pub(crate) struct Mailbox {
    /// Set while something waits in `pending`: the connection's polls check this flag alone.
    waiting: AtomicBool,
    /// The connection's queued output as its task last saw it: with the mailbox's own bytes,
    /// what the slow-consumer policy weighs.
    queued_output: AtomicUsize,
    /// The connection's `max_queued_output`.
    limit: usize,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    close: Option<CloseOrder>,
    messages: VecDeque<PreparedMessage>,
    /// The frames' bytes in `messages`.
    bytes: usize,
    waker: Option<Waker>,
}

/// What a connection takes from its mailbox in one go.
#[derive(Default)]
pub(crate) struct Mail {
    pub(crate) close: Option<CloseOrder>,
    pub(crate) messages: VecDeque<PreparedMessage>,
}

impl Mailbox {
    pub(crate) fn new(limit: usize) -> Self {
        Mailbox {
            waiting: AtomicBool::new(false),
            queued_output: AtomicUsize::new(0),
            limit,
            pending: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Every change under this lock is one step, so a poisoned lock is still consistent.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the connection to close.
    pub(crate) fn ask_close(&self, close: CloseOrder) {
        let waker = {
            let mut pending = self.lock();
            pending.close = Some(close);
            self.waiting.store(true, Ordering::Release);
            pending.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Leaves `message` for the connection, unless its output (queued in the connection
    /// and waiting here) is over its limit: then `policy` decides (a close it asks for ends
    /// by `close_by`).
    pub(crate) fn deliver(
        &self,
        message: &PreparedMessage,
        policy: SlowConsumer,
        close_by: Instant,
    ) -> Delivery {
        let (delivery, waker) = {
            let mut pending = self.lock();
            if pending.close.is_some() {
                // Closing already: nothing more goes out after the close frame.
                return Delivery::Closing;
            }
            let queued = self.queued_output.load(Ordering::Relaxed) + pending.bytes;
            // Over the limit, not at it: one message always fits, as a direct send does.
            let delivery = if queued <= self.limit {
                pending.bytes += message.frame().len();
                pending.messages.push_back(message.clone());
                Delivery::Queued
            } else {
                match policy {
                    SlowConsumer::Drop => return Delivery::Dropped,
                    SlowConsumer::Close(code) => {
                        let frame = CloseFrame::new(code, "slow consumer");
                        pending.close = Some((Some(frame), close_by));
                        Delivery::Closing
                    }
                }
            };
            self.waiting.store(true, Ordering::Release);
            (delivery, pending.waker.take())
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        delivery
    }
}

/// A connection's place in a registry; dropping it leaves the registry and its groups.
pub(crate) struct Registration {
    pub(super) id: ConnectionId,
    pub(super) mailbox: Arc<Mailbox>,
    pub(super) shared: Weak<Shared>,
}

impl Registration {
    /// The connection's id.
    pub(crate) fn id(&self) -> ConnectionId {
        self.id
    }

    /// What other tasks left since the last look, if anything (one atomic load when
    /// nothing).
    #[inline]
    pub(crate) fn take_mail(&self) -> Option<Mail> {
        if !self.mailbox.waiting.load(Ordering::Acquire) {
            return None;
        }
        let mut pending = self.mailbox.lock();
        // Cleared under the lock the senders set it under: a later message sets it again.
        self.mailbox.waiting.store(false, Ordering::Release);
        pending.bytes = 0;
        Some(Mail {
            close: pending.close.take(),
            messages: std::mem::take(&mut pending.messages),
        })
    }

    /// The connection's queued output now, for the slow-consumer policy.
    #[inline]
    pub(crate) fn note_queued_output(&self, bytes: usize) {
        self.mailbox.queued_output.store(bytes, Ordering::Relaxed);
    }

    /// Before the connection's task waits: keeps its waker for mail, and wakes it at once
    /// if some came in since [`Registration::take_mail`] looked.
    pub(crate) fn park(&self, cx: &mut Context<'_>) {
        let mut pending = self.mailbox.lock();
        if self.mailbox.waiting.load(Ordering::Acquire) {
            drop(pending);
            cx.waker().wake_by_ref();
            return;
        }
        match &pending.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => pending.waker = Some(cx.waker().clone()),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.remove(self.id);
        }
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
