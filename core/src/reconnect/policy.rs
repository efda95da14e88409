//! The settings of the reconnect schedule, with their defaults.

use std::time::Duration;

/// How a reconnecting client spaces its attempts: exponential backoff with jitter, capped,
/// optionally bounded in number, and reset once a connection stayed up long enough.
///
/// The delay before failed attempt `n` (counting from 0 since the last reset) is
/// `min(initial_delay × factor^n, max_delay)`, then shortened by a random part of up to
/// `jitter` of itself, so that many clients dropped at once (a server restart) do not come
/// back in lockstep. A `Retry-After` from a 429 or 503 answer lengthens the delay to at
/// least what it asks, up to [`max_retry_after`](Self::max_retry_after).
///
/// ```
/// use std::time::Duration;
/// use ropeway_core::reconnect::ReconnectPolicy;
///
/// let policy = ReconnectPolicy {
///     initial_delay: Duration::from_millis(100),
///     max_attempts: Some(5),
///     ..ReconnectPolicy::default()
/// };
/// assert_eq!(policy.max_delay, Duration::from_secs(30));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReconnectPolicy {
    /// The delay before the first retry. Default 500 ms. Zero retries at once, and stays
    /// zero whatever the factor: a client that hammers a refusing server.
    pub initial_delay: Duration,
    /// What each further failure multiplies the delay by (values below 1 count as 1).
    /// Default 2.
    pub factor: f64,
    /// The longest delay the backoff grows to. Default 30 s.
    pub max_delay: Duration,
    /// The share of each delay that is random, from 0 (none: exact delays) to 1 (anywhere
    /// between 0 and the delay). Default 0.5: a delay `d` becomes one between `d/2` and `d`.
    pub jitter: f64,
    /// How many attempts in a row may fail before the client gives up; `None` (the default)
    /// retries for ever.
    pub max_attempts: Option<u32>,
    /// How long a connection must have stayed up for its drop to start the backoff afresh
    /// (from `initial_delay`, with the attempt count at 0). A server that accepts and drops
    /// at once keeps the backoff growing. Default 10 s.
    pub stable_after: Duration,
    /// The longest `Retry-After` honoured: a server cannot park the client for a day by
    /// asking. Default 5 minutes.
    pub max_retry_after: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(500),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            jitter: 0.5,
            max_attempts: None,
            stable_after: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(300),
        }
    }
}
