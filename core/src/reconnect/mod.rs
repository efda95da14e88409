//! Automatic reconnect, sans-IO: the schedule (exponential backoff with jitter, capped,
//! `Retry-After`, a reset after a stable connection), the verdict on what ended a
//! connection (transient or fatal), and the events a reconnecting client reports.
//!
//! The runtime adapters (`ropeway_tokio::Reconnecting`, `ropeway_smol::Reconnecting`,
//! `ropeway_mio::client::Reconnecting`) connect, read and sleep until the deadline
//! [`Backoff::disconnected`] answers; every decision is made here, once.
//!
//! | setting | default |
//! |---|---|
//! | [`initial_delay`](ReconnectPolicy::initial_delay) | 500 ms |
//! | [`factor`](ReconnectPolicy::factor) | 2 |
//! | [`max_delay`](ReconnectPolicy::max_delay) | 30 s |
//! | [`jitter`](ReconnectPolicy::jitter) | 0.5 (a delay `d` becomes one in `d/2 ..= d`) |
//! | [`max_attempts`](ReconnectPolicy::max_attempts) | none (for ever) |
//! | [`stable_after`](ReconnectPolicy::stable_after) | 10 s |
//! | [`max_retry_after`](ReconnectPolicy::max_retry_after) | 5 min |

mod backoff;
mod classify;
mod event;
mod policy;
#[cfg(test)]
mod tests;
mod watch;

pub use backoff::{Backoff, Decision, Stop};
pub use classify::{Disconnect, Verdict, classify, is_transient_close, retry_after};
pub use event::{NotSent, Reconnect};
pub use policy::ReconnectPolicy;
pub use watch::{Seen, Watch};
