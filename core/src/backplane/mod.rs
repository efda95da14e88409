//! Groups across machines: the contract between a server's groups and a backplane that
//! carries messages between server processes (SignalR's backplane, Socket.IO's adapter).
//!
//! A server publishes each message for all, a group or one connection once to the
//! backplane; every other server receives it and delivers it to its own members, encoding
//! the frame once for them. This module is sans-IO: the addressing ([`Target`]), the
//! envelope a message travels in ([`Envelope`], bytes in and out), the channel names, and
//! the two traits that join a server to a backplane:
//! - [`Backplane`], which a backplane implements (ropeway-redis on Redis pub/sub): publish
//!   without blocking, and subscribe to a group's channel while the server has members in it;
//! - [`LocalDelivery`], which a server implements (ropeway-async's `Registry`, ropeway-mio's
//!   `Handle`): deliver a message that came from another server to the local members.
//!
//! Delivery across servers is at most once, as SignalR's is: a message published while the
//! backplane is down, or while a server is not subscribed, is lost, and counted.

mod envelope;

pub use envelope::{Envelope, EnvelopeError, MAX_GROUP_NAME};

use crate::PreparedMessage;
use crate::event::MessageKind;
use bytes::Bytes;

/// A server process's id in a backplane: random, chosen when the server starts, so that a
/// server knows its own publications when they come back and connections can be addressed
/// across servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub u64);

impl ServerId {
    /// A fresh random id.
    pub fn random() -> Self {
        ServerId(random_u64())
    }
}

impl std::fmt::Display for ServerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A connection anywhere behind a backplane: its server and its number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalId {
    /// The server the connection is on.
    pub server: ServerId,
    /// The connection's number on that server.
    pub connection: u64,
}

/// Who a message is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every connection on every server.
    All,
    /// Every connection on every server but one (usually the sender).
    AllExcept(GlobalId),
    /// The members of a group on every server.
    Group(String),
    /// The members of a group on every server but one connection.
    GroupExcept(String, GlobalId),
    /// One connection.
    Connection(GlobalId),
}

/// The channel a message for `target` is published on, under `prefix` (one namespace per
/// application sharing a Redis): `{prefix}:all`, `{prefix}:group:{name}` and, for one
/// connection, `{prefix}:server:{id}` — one channel per server rather than per connection,
/// so that a connection arriving costs no backplane command.
pub fn channel(prefix: &str, target: &Target) -> String {
    match target {
        Target::All | Target::AllExcept(_) => format!("{prefix}:all"),
        Target::Group(name) | Target::GroupExcept(name, _) => format!("{prefix}:group:{name}"),
        Target::Connection(id) => server_channel(prefix, id.server),
    }
}

/// The channel of one server's connection-addressed messages.
pub fn server_channel(prefix: &str, server: ServerId) -> String {
    format!("{prefix}:server:{server}")
}

/// A backplane as a server sees it. Every method returns at once: a backplane never blocks
/// the event loop or a send (a publish it cannot pass on is dropped and counted).
pub trait Backplane: Send + Sync + 'static {
    /// This server's id.
    fn server_id(&self) -> ServerId;

    /// Publishes a message for the other servers (this server delivers to its own members
    /// itself).
    fn publish(&self, target: Target, kind: MessageKind, payload: Bytes);

    /// The server has a member in `group` (called on every join; the backplane subscribes
    /// on the first).
    fn join(&self, group: &str);

    /// A member left `group` (called on every leave, and for each group of an ending
    /// connection; the backplane unsubscribes after the last).
    fn leave(&self, group: &str);
}

/// A server as a backplane sees it: where messages from other servers are delivered.
pub trait LocalDelivery: Send + Sync + 'static {
    /// Delivers `message` to this server's connections that `target` names.
    fn deliver(&self, target: &Target, message: &PreparedMessage);
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS per process; mixing in the time and a counter
    // tells apart servers started in one process (tests).
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    if let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since.as_nanos());
    }
    hasher.finish()
}
