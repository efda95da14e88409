//! The backplane's counters: atomics shared by its threads, read as a [`RedisStats`].

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// What a [`crate::RedisBackplane`] did since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedisStats {
    /// Messages published to Redis.
    pub published: u64,
    /// Messages dropped instead of published: the publisher link was down, or the publish
    /// queue was full (each also reported in a [`crate::RedisEvent::Lost`]).
    pub publish_dropped: u64,
    /// Envelopes received from Redis (other servers' publications).
    pub received: u64,
    /// Envelopes handed to the server's local delivery.
    pub delivered: u64,
    /// Envelopes this server published itself, skipped (it delivered them locally).
    pub own_skipped: u64,
    /// Messages from Redis that were no valid envelope, or that came on a channel their
    /// target does not belong on.
    pub decode_errors: u64,
    /// Envelopes over [`crate::RedisOptions::max_envelope_size`], refused.
    pub too_large: u64,
    /// Links to Redis made again after one was lost (both links counted).
    pub reconnects: u64,
    /// Channels the subscriber is subscribed to now.
    pub subscribed_channels: usize,
    /// Both links are up.
    pub connected: bool,
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) published: AtomicU64,
    pub(crate) publish_dropped: AtomicU64,
    /// Drops not yet reported in a `Lost` event.
    pub(crate) unreported_drops: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) own_skipped: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    pub(crate) too_large: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) subscribed_channels: AtomicUsize,
    /// Payload bytes in the publish queue.
    pub(crate) queued_bytes: AtomicUsize,
    pub(crate) publisher_up: AtomicBool,
    pub(crate) subscriber_up: AtomicBool,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> RedisStats {
        RedisStats {
            published: self.published.load(Relaxed),
            publish_dropped: self.publish_dropped.load(Relaxed),
            received: self.received.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            own_skipped: self.own_skipped.load(Relaxed),
            decode_errors: self.decode_errors.load(Relaxed),
            too_large: self.too_large.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            subscribed_channels: self.subscribed_channels.load(Relaxed),
            connected: self.publisher_up.load(Relaxed) && self.subscriber_up.load(Relaxed),
        }
    }

    /// A publication that did not go out.
    pub(crate) fn dropped(&self, count: u64) {
        self.publish_dropped.fetch_add(count, Relaxed);
        self.unreported_drops.fetch_add(count, Relaxed);
    }
}
