//! Connection settings: limits and timers.

use std::time::Duration;

use crate::limits::Limits;

/// Settings of one connection, the same for both roles.
///
/// ```
/// use std::time::Duration;
/// use ropeway_core::{Config, Limits};
///
/// let config = Config {
///     keep_alive_interval: Some(Duration::from_secs(15)), // ping a quiet peer every 15 s
///     keep_alive_timeout: Some(Duration::from_secs(5)),   // and give up 5 s later
///     limits: Limits { max_message_size: 1 << 20, ..Limits::DEFAULT },
///     ..Config::DEFAULT
/// };
/// assert_eq!(config.close_timeout, Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Limits on what the peer can make the core hold.
    pub limits: Limits,
    /// Send a ping when nothing was received for this long; `None` turns keep-alive off.
    /// Default 2 minutes, as in the reference stack.
    pub keep_alive_interval: Option<Duration>,
    /// After a keep-alive ping, the peer must send something (any frame) within this time or
    /// the connection ends with [`ConnectionError::KeepAliveTimeout`]; `None` waits forever.
    /// Default 30 seconds.
    ///
    /// [`ConnectionError::KeepAliveTimeout`]: crate::ConnectionError::KeepAliveTimeout
    pub keep_alive_timeout: Option<Duration>,
    /// How long to wait for the peer's side of the close handshake (and, as a client, for
    /// the server to end the transport) after sending a close frame. Default 5 seconds.
    pub close_timeout: Duration,
    /// Output that the transport stops taking (a write would block) must be written out, all
    /// of what was queued at that moment, within this long, or the connection ends with
    /// [`ConnectionError::WriteStalled`]: a peer that never reads, or reads only a trickle
    /// (a few bytes whenever the kernel's buffers grow), cannot hold this side's queued output,
    /// or a task waiting in `send`, forever. A live reader drains the backlog at its own
    /// pace; it must average at least the backlog (at most `max_queued_output` plus one
    /// message) per timeout. `None` waits forever. Default 30 seconds.
    ///
    /// [`ConnectionError::WriteStalled`]: crate::ConnectionError::WriteStalled
    pub write_stall_timeout: Option<Duration>,
    /// After failing a connection (a protocol error answered with its close frame), at most
    /// this many bytes the peer still sends are read and dropped, within the close timeout,
    /// before the transport is closed. Closing a socket with unread input resets the
    /// connection, and the reset can destroy the close frame before the peer reads it; a
    /// peer still sending (an upload over the message limit) then sees only a reset instead
    /// of its 1009. Default 1 MiB; 0 closes at once.
    pub failure_drain: usize,
    /// How many events (messages, pieces, pings, pongs) and reads one connection gets in a
    /// row before it must let others run (the driver's `Next::Yield`). A peer that floods
    /// tiny frames fills every read, so its connection never waits on its own; an executor
    /// without a cooperative budget (smol) or an event loop would then serve it alone.
    /// Default 64: below tokio's own budget (128 operations per task poll), far above what
    /// a request-response exchange does between two waits. At least 1.
    pub work_budget: u16,
}

impl Config {
    /// The defaults.
    pub const DEFAULT: Config = Config {
        limits: Limits::DEFAULT,
        keep_alive_interval: Some(Duration::from_secs(120)),
        keep_alive_timeout: Some(Duration::from_secs(30)),
        close_timeout: Duration::from_secs(5),
        write_stall_timeout: Some(Duration::from_secs(30)),
        failure_drain: 1 << 20,
        work_budget: 64,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}
