//! A Redis pub/sub backplane for ropeway's groups: run several server processes behind a
//! load balancer, and a message for everyone, for a group or for one connection reaches
//! its recipients on every process (as SignalR's Redis backplane and Socket.IO's Redis
//! adapter do).
//!
//! [`RedisBackplane`] implements the core's [`Backplane`](ropeway_core::backplane::Backplane):
//! a server publishes each message once, every other server delivers it to its own members
//! through the server's [`LocalDelivery`](ropeway_core::backplane::LocalDelivery), encoding
//! the frame once for all of them.
//!
//! * **Channels.** `{prefix}:all`, `{prefix}:group:{name}` and one per server,
//!   `{prefix}:server:{id}`, for messages to one connection. A server subscribes to a
//!   group's channel while it has a member in the group.
//! * **Threads, no runtime.** One subscriber connection and thread per backplane, one
//!   publisher connection and thread fed by a bounded queue. The sync client: a mio server
//!   pulls in no async runtime. [`Backplane::publish`](ropeway_core::backplane::Backplane::publish)
//!   never blocks: a message that does not fit the queue, or comes while the link is down,
//!   is dropped and counted.
//! * **Redis going away.** The servers keep serving their local traffic; both links are
//!   retried on the core's reconnect schedule ([`RedisOptions::reconnect`]), the
//!   subscriber subscribes everything current again, and what was lost is counted
//!   ([`RedisStats`]) and reported ([`RedisEvent::Lost`]).
//!
//! # Delivery is at most once
//!
//! Like SignalR's backplane, this one does not buffer or replay: Redis pub/sub delivers a
//! message to the subscribers connected when it is published, and no one else. A message is
//! lost, never duplicated, when it is published while this server's link to Redis is down
//! or its publish queue is full (counted in [`RedisStats::publish_dropped`] and reported),
//! when the receiving server's subscriber is reconnecting, or while a group's channel is
//! still being subscribed (a member that joined a few milliseconds ago, see
//! [`RedisOptions::poll_interval`]). A receiving server cannot count what it never got.
//! Applications that cannot lose a message need acknowledgements and a store of their own
//! (a database, Redis streams) on top.
//!
//! Messages from one server arrive at another in the order they were published; messages
//! from different servers have no order between them.
#![forbid(unsafe_code)]

mod backplane;
mod error;
mod options;
mod publisher;
mod redact;
mod retry;
mod shared;
mod stats;
mod subscriber;

pub use backplane::RedisBackplane;
pub use error::Error;
pub use options::{EventCallback, Link, RedisEvent, RedisOptions};
pub use redact::redact_url;
pub use stats::RedisStats;
