//! The cross-thread side: a cloneable, `Send` [`Handle`] that queues commands for the loops
//! (a bounded queue per loop) and wakes them with a `mio::Waker`.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, RwLock};

use ropeway_core::backplane::{GlobalId, ServerId, Target};
use ropeway_core::{CloseFrame, Message, PreparedMessage};

use super::backplane::Joined;
use super::id::ConnId;

/// What a handle asks a loop to do.
#[derive(Debug)]
pub(crate) enum Command {
    Send(ConnId, Message),
    SendPrepared(ConnId, PreparedMessage),
    Close(ConnId, Option<CloseFrame>),
    /// To all (or a group's members), but the connection given.
    Broadcast(Option<Arc<str>>, Option<ConnId>, PreparedMessage),
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
    /// Set before the loops start ([`super::Server::with_backplane`]); taken out when the
    /// last loop ends, which breaks the cycle of a backplane that holds this handle as
    /// its local delivery.
    backplane: RwLock<Option<Joined>>,
    /// Loops not ended yet.
    running: AtomicUsize,
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
    /// The id names a connection on another server, and this one is joined to no
    /// backplane.
    Unreachable,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::Full => f.write_str("the event loop's queue is full"),
            HandleError::Stopped => f.write_str("the server has stopped"),
            HandleError::Unreachable => {
                f.write_str("the connection is on another server, and no backplane is joined")
            }
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
        let loops = links.len();
        let shared = Arc::new(Shared {
            links,
            stop: AtomicBool::new(false),
            backplane: RwLock::new(None),
            running: AtomicUsize::new(loops),
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

    /// Sends `message` to every open connection of every loop, and of every server joined
    /// to the same backplane (published once). Encode it once with
    /// [`PreparedMessage::new`]; each loop shares the same bytes. Fails with
    /// [`HandleError::Full`] if some loop's queue was full (the others got it).
    pub fn broadcast(&self, message: &PreparedMessage) -> Result<(), HandleError> {
        self.publish(|| Target::All, message);
        self.broadcast_local(None, None, message)
    }

    /// Sends `message` to every connection in `group` (see [`super::Context::join`]), on
    /// every loop and every server joined to the same backplane.
    pub fn broadcast_to(&self, group: &str, message: &PreparedMessage) -> Result<(), HandleError> {
        self.publish(|| Target::Group(group.to_owned()), message);
        self.broadcast_local(Some(group), None, message)
    }

    /// [`broadcast`](Self::broadcast) to everyone but `except` (usually the sender).
    pub fn broadcast_except(
        &self,
        except: ConnId,
        message: &PreparedMessage,
    ) -> Result<(), HandleError> {
        if let Some(backplane) = self.backplane() {
            backplane.publish(
                Target::AllExcept(backplane.global(except)),
                message.kind(),
                message.payload().clone(),
            );
        }
        self.broadcast_local(None, Some(except), message)
    }

    /// [`broadcast_to`](Self::broadcast_to) to every member of `group` but `except`.
    pub fn broadcast_to_except(
        &self,
        group: &str,
        except: ConnId,
        message: &PreparedMessage,
    ) -> Result<(), HandleError> {
        if let Some(backplane) = self.backplane() {
            backplane.publish(
                Target::GroupExcept(group.to_owned(), backplane.global(except)),
                message.kind(),
                message.payload().clone(),
            );
        }
        self.broadcast_local(Some(group), Some(except), message)
    }

    /// This server's id in its backplane; `None` without one.
    pub fn server_id(&self) -> Option<ServerId> {
        self.backplane().map(|b| b.server_id())
    }

    /// How servers joined to the same backplane name connection `id`; `None` without a
    /// backplane.
    pub fn global_id(&self, id: ConnId) -> Option<GlobalId> {
        self.backplane().map(|b| b.global(id))
    }

    /// Sends `message` to the connection `to` names: one of this server's, queued as
    /// [`send_prepared`](Self::send_prepared) does, or another server's, published on the
    /// backplane (`Ok` then means handed to the backplane, which delivers at most once).
    /// A connection on another server without a backplane is
    /// [`HandleError::Unreachable`].
    pub fn send_to(&self, to: GlobalId, message: &PreparedMessage) -> Result<(), HandleError> {
        let backplane = self.backplane().ok_or(HandleError::Unreachable)?;
        match backplane.local(&to) {
            Some(id) => self.send_prepared(id, message),
            None => {
                backplane.publish(
                    Target::Connection(to),
                    message.kind(),
                    message.payload().clone(),
                );
                Ok(())
            }
        }
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
        except: Option<ConnId>,
        message: &PreparedMessage,
    ) -> (usize, usize) {
        let loops = self.shared.links.len();
        if loops < 2 {
            return (0, 0);
        }
        let group: Option<Arc<str>> = group.map(Arc::from);
        let (mut took, mut missed) = (0, 0);
        for index in (0..loops).filter(|&index| index != from) {
            match self.queue(
                index,
                Command::Broadcast(group.clone(), except, message.clone()),
            ) {
                Ok(()) => took += 1,
                // Stopping: the loops are closing their connections anyway (queueing for a
                // loop of this server is never unreachable).
                Err(HandleError::Stopped | HandleError::Unreachable) => {}
                Err(HandleError::Full) => missed += 1,
            }
        }
        (took, missed)
    }

    /// Queues a broadcast on every loop of this server (not published).
    pub(crate) fn broadcast_local(
        &self,
        group: Option<&str>,
        except: Option<ConnId>,
        message: &PreparedMessage,
    ) -> Result<(), HandleError> {
        let group: Option<Arc<str>> = group.map(Arc::from);
        let mut result = Ok(());
        for index in 0..self.shared.links.len() {
            let command = Command::Broadcast(group.clone(), except, message.clone());
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

    /// Publishes `message` for the other servers, if a backplane is joined (the target is
    /// made only then).
    fn publish(&self, target: impl FnOnce() -> Target, message: &PreparedMessage) {
        if let Some(backplane) = self.backplane() {
            backplane.publish(target(), message.kind(), message.payload().clone());
        }
    }

    /// The backplane the server is joined to, if any.
    pub(crate) fn backplane(&self) -> Option<Joined> {
        self.shared
            .backplane
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Joins the server to `backplane` (before its loops start).
    pub(crate) fn attach(&self, backplane: Joined) {
        *self
            .shared
            .backplane
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(backplane);
    }

    /// A loop ended; after the last, the backplane is let go.
    pub(crate) fn loop_ended(&self) {
        if self.shared.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared
                .backplane
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .take();
        }
    }

    /// The loop took its wake-up: the next send wakes it again.
    pub(crate) fn rearm(&self, index: usize) {
        if let Some(link) = self.shared.links.get(index) {
            link.woken.store(false, Ordering::Release);
        }
    }
}
