//! The cross-thread side: a cloneable, `Send` [`Handle`] that queues commands for the loops
//! (a bounded queue per loop) and wakes them with a `mio::Waker`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use ropeway_core::{CloseFrame, Message, PreparedMessage};

use super::id::ConnId;

/// What a handle asks a loop to do.
#[derive(Debug)]
pub(crate) enum Command {
    Send(ConnId, Message),
    SendPrepared(ConnId, PreparedMessage),
    Close(ConnId, Option<CloseFrame>),
    Broadcast(Option<Arc<str>>, PreparedMessage),
}

/// One loop's end of the queue.
pub(crate) struct Link {
    tx: SyncSender<Command>,
    waker: mio::Waker,
    /// Set once a wake-up is on its way and not yet taken, so a burst of sends costs one
    /// wake-up (a syscall) instead of one each.
    woken: AtomicBool,
}

/// What the loops share with every handle.
pub(crate) struct Shared {
    pub(crate) links: Vec<Link>,
    pub(crate) stop: AtomicBool,
}

/// Sends to connections, closes them and broadcasts, from any thread. Cheap to clone.
///
/// Every call queues a command for the connection's loop and returns at once: the queue of
/// each loop is bounded ([`super::Config::queue_capacity`]), and a full one is reported as
/// [`HandleError::Full`], never waited on or grown. What the loop does with a message for a
/// connection that does not keep up is [`super::Config::slow_consumer`]'s choice.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("loops", &self.shared.links.len())
            .finish()
    }
}

/// Why a [`Handle`] could not queue a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// The loop's queue is full: it is behind. Try again later, or drop the message.
    Full,
    /// The server stopped (or the id names no loop of this server).
    Stopped,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::Full => f.write_str("the event loop's queue is full"),
            HandleError::Stopped => f.write_str("the server has stopped"),
        }
    }
}

impl std::error::Error for HandleError {}

impl Handle {
    /// A handle for `loops` loops whose wakers are given, and the receiving ends.
    pub(crate) fn new(
        wakers: Vec<mio::Waker>,
        capacity: usize,
    ) -> (Handle, Vec<Receiver<Command>>) {
        let mut links = Vec::with_capacity(wakers.len());
        let mut receivers = Vec::with_capacity(wakers.len());
        for waker in wakers {
            let (tx, rx) = sync_channel(capacity.max(1));
            links.push(Link {
                tx,
                waker,
                woken: AtomicBool::new(false),
            });
            receivers.push(rx);
        }
        let shared = Arc::new(Shared {
            links,
            stop: AtomicBool::new(false),
        });
        (Handle { shared }, receivers)
    }

    /// Queues `message` for connection `id`.
    ///
    /// `Ok` means the loop took the command, not that the connection got the message: the
    /// handle cannot see the connection from another thread. A message for a connection that
    /// has ended (or is closing, or whose id was kept after its end and whose slot now serves
    /// another connection: ids carry a generation) is dropped by its loop without a word,
    /// as one for a slow consumer under [`super::SlowConsumer::Drop`] is. To know, send from
    /// the handler ([`super::Context::send`] returns [`super::SendError::NotOpen`]), or keep
    /// track of [`super::Handler::on_close`].
    pub fn send(&self, id: ConnId, message: Message) -> Result<(), HandleError> {
        self.queue(id.loop_index(), Command::Send(id, message))
    }

    /// Queues a message encoded once (see [`PreparedMessage`]) for connection `id`.
    pub fn send_prepared(&self, id: ConnId, message: &PreparedMessage) -> Result<(), HandleError> {
        self.queue(id.loop_index(), Command::SendPrepared(id, message.clone()))
    }

    /// Starts the close handshake of connection `id`.
    pub fn close(&self, id: ConnId, frame: Option<CloseFrame>) -> Result<(), HandleError> {
        self.queue(id.loop_index(), Command::Close(id, frame))
    }

    /// Sends `message` to every open connection of every loop. Encode it once with
    /// [`PreparedMessage::new`]; each loop shares the same bytes. Fails with
    /// [`HandleError::Full`] if some loop's queue was full (the others got it).
    pub fn broadcast(&self, message: &PreparedMessage) -> Result<(), HandleError> {
        self.broadcast_command(None, message)
    }

    /// Sends `message` to every connection in `group` (see [`super::Context::join`]), on
    /// every loop.
    pub fn broadcast_to(&self, group: &str, message: &PreparedMessage) -> Result<(), HandleError> {
        self.broadcast_command(Some(Arc::from(group)), message)
    }

    /// Asks every loop to stop, gracefully: each stops accepting, closes its connections
    /// with [`Config::going_away`](super::Config::going_away) (1001), waits for their close
    /// handshakes up to [`Config::shutdown_timeout`](super::Config::shutdown_timeout) (the
    /// handler's `on_close` sees each client's answer), then ends what is left and returns.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        for link in &self.shared.links {
            let _ = link.waker.wake();
        }
    }

    /// Whether [`Handle::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    /// The number of loops.
    pub fn loops(&self) -> usize {
        self.shared.links.len()
    }

    /// Hands a broadcast made on loop `from` (which delivered it itself) to every other
    /// loop; returns how many loops took it and how many queues were full.
    pub(crate) fn broadcast_to_other_loops(
        &self,
        from: usize,
        group: Option<&str>,
        message: &PreparedMessage,
    ) -> (usize, usize) {
        let loops = self.shared.links.len();
        if loops < 2 {
            return (0, 0);
        }
        let group: Option<Arc<str>> = group.map(Arc::from);
        let (mut took, mut missed) = (0, 0);
        for index in (0..loops).filter(|&index| index != from) {
            match self.queue(index, Command::Broadcast(group.clone(), message.clone())) {
                Ok(()) => took += 1,
                // Stopping: the loops are closing their connections anyway.
                Err(HandleError::Stopped) => {}
                Err(HandleError::Full) => missed += 1,
            }
        }
        (took, missed)
    }

    fn broadcast_command(
        &self,
        group: Option<Arc<str>>,
        message: &PreparedMessage,
    ) -> Result<(), HandleError> {
        let mut result = Ok(());
        for index in 0..self.shared.links.len() {
            let command = Command::Broadcast(group.clone(), message.clone());
            if let Err(e) = self.queue(index, command) {
                result = Err(e);
            }
        }
        result
    }

    fn queue(&self, index: usize, command: Command) -> Result<(), HandleError> {
        if self.is_stopped() {
            return Err(HandleError::Stopped);
        }
        let link = self.shared.links.get(index).ok_or(HandleError::Stopped)?;
        link.tx.try_send(command).map_err(|e| match e {
            TrySendError::Full(_) => HandleError::Full,
            TrySendError::Disconnected(_) => HandleError::Stopped,
        })?;
        if !link.woken.swap(true, Ordering::AcqRel) {
            // A waker that fails has a loop that is gone: the command dies with the queue.
            let _ = link.waker.wake();
        }
        Ok(())
    }

    /// The loop took its wake-up: the next send wakes it again.
    pub(crate) fn rearm(&self, index: usize) {
        if let Some(link) = self.shared.links.get(index) {
            link.woken.store(false, Ordering::Release);
        }
    }
}
