//! The settings of a [`crate::RedisBackplane`], and the events it reports.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ropeway_core::reconnect::ReconnectPolicy;

/// What the backplane tells the application about its links to Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisEvent {
    /// A link to Redis is up (and, for the subscriber, every current channel subscribed).
    Connected {
        /// Which link.
        link: Link,
    },
    /// A link to Redis failed or could not be made; it is tried again after a backoff.
    Disconnected {
        /// Which link.
        link: Link,
        /// What went wrong, with any password taken out.
        error: String,
    },
    /// Messages published on this server that never reached Redis (published while the
    /// link was down, or beyond the publish queue's bound), since the last such event.
    Lost {
        /// How many.
        messages: u64,
    },
}

/// One of the backplane's two connections to Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// The connection that sends `PUBLISH`.
    Publisher,
    /// The connection subscribed to this server's channels.
    Subscriber,
}

/// A function the backplane calls with each [`RedisEvent`], from its own threads: keep it
/// short (log, count, set a flag); it must not block.
pub type EventCallback = Arc<dyn Fn(&RedisEvent) + Send + Sync>;

/// Settings of a [`crate::RedisBackplane`].
#[derive(Clone)]
pub struct RedisOptions {
    /// The start of every channel name (`{prefix}:all`, `{prefix}:group:{name}`,
    /// `{prefix}:server:{id}`): one namespace per application sharing a Redis. Default
    /// `"ropeway"`.
    pub prefix: String,
    /// The largest envelope taken from Redis (default 16 MiB); a larger one is refused and
    /// counted ([`crate::RedisStats::too_large`]). Redis's own `proto-max-bulk-len` bounds
    /// what the client reads before this check. A publish whose payload is larger is
    /// dropped and counted on this side.
    pub max_envelope_size: usize,
    /// Messages waiting for the publisher thread, at most (default 4,096); a publish beyond
    /// it is dropped and counted.
    pub publish_queue: usize,
    /// Bytes of payload waiting for the publisher thread, at most (default 64 MiB).
    pub publish_queue_bytes: usize,
    /// When to try Redis again after a failure: the core's reconnect schedule. A backplane
    /// never gives up: past [`ReconnectPolicy::max_attempts`] it keeps trying every
    /// [`ReconnectPolicy::max_delay`]. Default: 100 ms doubling up to 5 s, jitter 0.5.
    pub reconnect: ReconnectPolicy,
    /// How long connecting to Redis may take (default 5 s).
    pub connect_timeout: Duration,
    /// How long a command's answer may take (default 5 s); the subscriber also pings Redis
    /// after this long without traffic, so a link that died silently is noticed.
    pub io_timeout: Duration,
    /// How often the subscriber thread looks up from reading to (un)subscribe groups and
    /// to see a stop (default 50 ms): the most a join waits before its channel is
    /// subscribed, and a stop before the thread ends.
    pub poll_interval: Duration,
    /// Called with each [`RedisEvent`] (default none; events are also logged with
    /// `tracing`).
    pub on_event: Option<EventCallback>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "ropeway".to_owned(),
            max_envelope_size: 16 << 20,
            publish_queue: 4096,
            publish_queue_bytes: 64 << 20,
            reconnect: ReconnectPolicy {
                initial_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(5),
                ..ReconnectPolicy::default()
            },
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(50),
            on_event: None,
        }
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("prefix", &self.prefix)
            .field("max_envelope_size", &self.max_envelope_size)
            .field("publish_queue", &self.publish_queue)
            .field("publish_queue_bytes", &self.publish_queue_bytes)
            .field("reconnect", &self.reconnect)
            .field("connect_timeout", &self.connect_timeout)
            .field("io_timeout", &self.io_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("on_event", &self.on_event.as_ref().map(|_| "callback"))
            .finish()
    }
}
