//! A registry of open connections, the server's hub: each connection has an id while it is
//! open; the registry sends to one, to a group, to all or to all but one (a frame encoded
//! once and queued by reference, see [`groups`](Registry::join)), joins a backplane so that
//! groups span servers ([`Registry::attach_backplane`]), and asks one or all connections to
//! close. A server's graceful shutdown is
//! [`Registry::shutdown`]: every connection, whatever accepted it (a plain accept, hyper,
//! axum, an HTTP/2 stream), gets a close frame (1001 by default), and the registry waits
//! until they have ended or the shutdown's deadline has passed.
//!
//! The registry decides nothing about a connection: it hands each one a close frame and a
//! deadline, and the connection's own driver runs the close handshake and, at the
//! deadline, ends it through its close timeout path
//! ([`Driver::close_by`](ropeway_core::driver::Driver::close_by)). A connection carries out
//! the request as soon as anything polls it; its task is woken for that.

mod backplane;
mod groups;
mod member;

use std::collections::HashMap;
use std::future::poll_fn;
use std::marker::PhantomData;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ropeway_core::backplane::{Backplane, ServerId};
use ropeway_core::{CloseCode, CloseFrame, SlowConsumer};

pub use groups::Delivered;
pub use member::Delivery;
pub(crate) use member::Registration;
use member::{CloseOrder, Mailbox};

use crate::io_util::timeout;
use crate::runtime::Runtime;

/// How long past a shutdown's deadline [`Registry::shutdown`] still waits: connections end
/// themselves at the deadline (their close timer fires then) and need a moment to leave.
const LEAVING: Duration = Duration::from_millis(100);

/// How long the close handshake of a slow consumer closed under [`SlowConsumer::Close`] may
/// take: it is not reading, so its answer is not waited for long.
const SLOW_CONSUMER_CLOSE: Duration = Duration::from_secs(5);

/// The close frame of a server going away: 1001, "going away" (RFC 6455 §7.4.1).
pub fn going_away() -> CloseFrame {
    CloseFrame::new(CloseCode::GOING_AWAY, "going away")
}

/// A connection's number in a [`Registry`], unique in it, counting from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A cloneable registry of a runtime's open connections (see the module docs). Clones share
/// one registry.
///
/// A connection joins with [`WebSocket::register`](crate::WebSocket::register) and leaves
/// when it is dropped. hyper's `upgrade`, axum's `WebSocketUpgrade` and `h2::serve` register
/// the WebSockets they hand out in the registry found in the request's extensions.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ropeway_tokio::Error> {
/// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
/// use std::time::Duration;
/// use ropeway_tokio::{CloseFrame, Message, Registry};
///
/// let registry = Registry::new();
/// let server_registry = registry.clone();
/// let server = tokio::spawn(async move {
///     let mut ws = ropeway_tokio::server::accept(server_io).await?;
///     ws.register(&server_registry);
///     // The application is told: its recv sees the client's answer to the 1001.
///     while let Some(message) = ws.recv().await {
///         if let Message::Close(frame) = message? {
///             assert_eq!(frame.map(|f| f.code), Some(ropeway_tokio::CloseCode::GOING_AWAY));
///         }
///     }
///     Ok::<_, ropeway_tokio::Error>(())
/// });
/// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
/// # let config = ropeway_tokio::ClientConfig::default();
/// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
/// # ws.send(Message::text("registered by now")).await?;
/// # while registry.is_empty() { tokio::task::yield_now().await; }
/// // Ctrl-C: 1001 to every connection, then wait up to 5 s for the close handshakes.
/// let shutdown = registry.shutdown(ropeway_tokio::going_away(), Duration::from_secs(5));
/// let client = async {
///     let close = ws.recv().await.expect("the server's close")?;
///     assert_eq!(close, Message::Close(Some(CloseFrame::new(1001, "going away"))));
///     assert!(ws.recv().await.is_none()); // a clean close
///     Ok::<_, ropeway_tokio::Error>(())
/// };
/// let (still_open, client) = tokio::join!(shutdown, client);
/// client?;
/// assert_eq!(still_open, 0);
/// server.await.unwrap()?;
/// # Ok(()) }
/// ```
pub struct Registry<R> {
    shared: Arc<Shared>,
    _runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for Registry<R> {
    fn clone(&self) -> Self {
        Registry {
            shared: self.shared.clone(),
            _runtime: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for Registry<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Registry")
            .field("open", &state.open.len())
            .field("closing", &state.closing.is_some())
            .finish()
    }
}

impl<R: Runtime> Default for Registry<R> {
    fn default() -> Self {
        Self::new()
    }
}

struct Shared {
    state: Mutex<State>,
    /// What a message for a connection whose output is at its limit meets.
    slow_consumer: SlowConsumer,
    /// Messages dropped under [`SlowConsumer::Drop`], over the registry's life.
    dropped: AtomicU64,
    /// The backplane its groups span servers over, once attached.
    backplane: OnceLock<Arc<dyn Backplane>>,
    /// The server's id when no backplane gives one.
    local_id: ServerId,
}

/// An open connection.
struct Member {
    mailbox: Arc<Mailbox>,
    /// The groups it is in (a few: a linear search is cheapest).
    groups: Vec<Arc<str>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    open: HashMap<u64, Member>,
    /// Each group's members.
    groups: HashMap<Arc<str>, HashMap<u64, Arc<Mailbox>>>,
    /// Set once the registry shuts down: a connection registered later is closed at once.
    closing: Option<CloseOrder>,
    /// Tasks waiting for the registry to empty.
    waiters: Vec<Waker>,
    /// Tasks waiting for the shutdown to begin ([`Registry::closing`]).
    closing_waiters: Vec<Waker>,
}

impl Shared {
    fn new(slow_consumer: SlowConsumer) -> Self {
        Shared {
            state: Mutex::default(),
            slow_consumer,
            dropped: AtomicU64::new(0),
            backplane: OnceLock::new(),
            local_id: ServerId::random(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the map consistent (every
        // change is one call), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection ended: it leaves the registry and its groups.
    fn remove(&self, id: ConnectionId) {
        let (waiters, left) = {
            let mut state = self.lock();
            let Some(member) = state.open.remove(&id.0) else {
                return;
            };
            for group in &member.groups {
                state.leave_group(group, id);
            }
            let waiters = if state.open.is_empty() {
                std::mem::take(&mut state.waiters)
            } else {
                Vec::new()
            };
            (waiters, member.groups)
        };
        if let Some(backplane) = self.backplane.get() {
            for group in &left {
                backplane.leave(group);
            }
        }
        for waiter in waiters {
            waiter.wake();
        }
    }
}

impl State {
    /// Takes `id` out of `group`'s members, forgetting the group once it is empty.
    fn leave_group(&mut self, group: &str, id: ConnectionId) {
        if let Some(members) = self.groups.get_mut(group) {
            members.remove(&id.0);
            if members.is_empty() {
                self.groups.remove(group);
            }
        }
    }
}

impl<R: Runtime> Registry<R> {
    /// An empty registry; a message for a slow consumer is dropped
    /// ([`SlowConsumer::Drop`]).
    pub fn new() -> Self {
        Self::with_slow_consumer(SlowConsumer::Drop)
    }

    /// An empty registry whose messages to a connection whose output is over its limit
    /// (`max_queued_output`) meet `policy`.
    pub fn with_slow_consumer(policy: SlowConsumer) -> Self {
        Registry {
            shared: Arc::new(Shared::new(policy)),
            _runtime: PhantomData,
        }
    }

    /// How many registered connections are open.
    pub fn len(&self) -> usize {
        self.shared.lock().open.len()
    }

    /// Whether no registered connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether [`Registry::close_all`] (or [`Registry::shutdown`]) was called: an accept
    /// loop stops accepting once it is.
    pub fn is_closing(&self) -> bool {
        self.shared.lock().closing.is_some()
    }

    /// The ids of the open connections, in no particular order.
    pub fn ids(&self) -> Vec<ConnectionId> {
        self.shared
            .lock()
            .open
            .keys()
            .map(|&id| ConnectionId(id))
            .collect()
    }

    /// Asks connection `id` to close with `frame`, its close handshake bounded by `within`
    /// as well as by its close timeout. Returns false if no open connection has that id.
    pub fn close(&self, id: ConnectionId, frame: Option<CloseFrame>, within: Duration) -> bool {
        let order = (frame, R::now() + within);
        let state = self.shared.lock();
        match state.open.get(&id.0) {
            Some(member) => {
                member.mailbox.ask_close(order);
                true
            }
            None => false,
        }
    }

    /// Asks every open connection, and every one registered from now on, to close with
    /// `frame`, all close handshakes ending within `within` (and within each connection's
    /// close timeout). Returns at once; [`Registry::shutdown`] also waits.
    pub fn close_all(&self, frame: Option<CloseFrame>, within: Duration) {
        let order = (frame, R::now() + within);
        let waiters = {
            let mut state = self.shared.lock();
            state.closing = Some(order.clone());
            for member in state.open.values() {
                member.mailbox.ask_close(order.clone());
            }
            std::mem::take(&mut state.closing_waiters)
        };
        for waiter in waiters {
            waiter.wake();
        }
    }

    /// Ready once [`Registry::close_all`] (or [`Registry::shutdown`]) was called: what an
    /// accept loop or a listener awaits to stop accepting.
    pub async fn closing(&self) {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.closing.is_some() {
                return Poll::Ready(());
            }
            if !state
                .closing_waiters
                .iter()
                .any(|w| w.will_wake(cx.waker()))
            {
                state.closing_waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// The graceful shutdown: [`Registry::close_all`] with `frame` (usually
    /// [`going_away`]), then waits until every registered connection has ended, at most
    /// `timeout` (plus a moment for the connections that end at the deadline to leave).
    /// Every connection that is polled ends by then: the close handshake done, or cut at
    /// the deadline. Returns how many are still registered (connections nothing polls:
    /// they end as soon as something does).
    pub async fn shutdown(&self, frame: CloseFrame, timeout_after: Duration) -> usize {
        self.close_all(Some(frame), timeout_after);
        let emptied = poll_fn(|cx| self.poll_empty(cx));
        let _ = timeout::<R, _>(timeout_after + LEAVING, emptied).await;
        self.len()
    }

    /// Ready once no registered connection is open.
    fn poll_empty(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock();
        if state.open.is_empty() {
            return Poll::Ready(());
        }
        if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Adds a connection whose output limit is `max_queued_output`.
    pub(crate) fn register(&self, max_queued_output: usize) -> Registration {
        let mailbox = Arc::new(Mailbox::new(max_queued_output));
        let mut state = self.shared.lock();
        state.next_id += 1;
        let id = state.next_id;
        if let Some(closing) = &state.closing {
            mailbox.ask_close(closing.clone());
        }
        let member = Member {
            mailbox: mailbox.clone(),
            groups: Vec::new(),
        };
        state.open.insert(id, member);
        Registration {
            id: ConnectionId(id),
            mailbox,
            shared: Arc::downgrade(&self.shared),
        }
    }
}
