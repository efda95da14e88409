//! The subscriber thread: one connection per process, subscribed to `{prefix}:all`, this
//! server's `{prefix}:server:{id}` and a channel per group with a local member. It reads
//! with a short timeout so that, between messages, it can (un)subscribe the groups that
//! changed, ping an idle link, and see a stop.

use std::collections::HashSet;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Instant;

use ropeway_core::PreparedMessage;
use ropeway_core::backplane::{Envelope, EnvelopeError, Target, channel, server_channel};

use crate::options::{Link, RedisEvent};
use crate::retry::Retry;
use crate::shared::Shared;

pub(crate) fn run(shared: &Shared) {
    let mut retry = Retry::new(shared);
    loop {
        if shared.stopped() {
            return;
        }
        let result = shared
            .client
            .get_connection_with_timeout(shared.options.connect_timeout)
            .and_then(|mut con| {
                con.set_write_timeout(Some(shared.options.io_timeout))?;
                serve(shared, &mut con, &mut retry)
            });
        shared.counters.subscriber_up.store(false, Release);
        shared.counters.subscribed_channels.store(0, Relaxed);
        let error = match result {
            Ok(()) => return,
            Err(error) => error,
        };
        let error = shared.describe(&error);
        shared.emit(RedisEvent::Disconnected {
            link: Link::Subscriber,
            error: error.clone(),
        });
        if !retry.wait(shared, &error) {
            return;
        }
    }
}

/// Subscribes and delivers until the link fails (the error) or a stop (`Ok`).
fn serve(
    shared: &Shared,
    con: &mut redis::Connection,
    retry: &mut Retry,
) -> redis::RedisResult<()> {
    let options = &shared.options;
    let mut pubsub = con.as_pubsub();
    // Commands wait for their answer up to the I/O timeout; reads for messages only a
    // poll interval, to look up in between.
    pubsub.set_read_timeout(Some(options.io_timeout))?;
    let mut subscribed = HashSet::new();
    let base = [
        channel(&options.prefix, &Target::All),
        server_channel(&options.prefix, shared.server),
    ];
    pubsub.subscribe(&base)?;
    subscribed.extend(base.iter().cloned());
    shared.groups_changed.store(false, Release);
    sync_groups(shared, &mut pubsub, &mut subscribed, &base)?;
    shared.counters.subscriber_up.store(true, Release);
    retry.connected(shared);
    shared.emit(RedisEvent::Connected {
        link: Link::Subscriber,
    });
    pubsub.set_read_timeout(Some(options.poll_interval))?;
    let mut last_traffic = Instant::now();
    loop {
        if shared.stopped() {
            return Ok(());
        }
        if shared.groups_changed.swap(false, Acquire) {
            pubsub.set_read_timeout(Some(options.io_timeout))?;
            sync_groups(shared, &mut pubsub, &mut subscribed, &base)?;
            pubsub.set_read_timeout(Some(options.poll_interval))?;
        }
        match pubsub.get_message() {
            Ok(message) => {
                last_traffic = Instant::now();
                receive(
                    shared,
                    message.get_channel_name(),
                    message.get_payload_bytes(),
                );
            }
            Err(error) if error.is_timeout() => {
                // A link that died without a word (a host gone, a half-open TCP connection)
                // shows itself only when asked.
                if last_traffic.elapsed() >= options.io_timeout {
                    pubsub.set_read_timeout(Some(options.io_timeout))?;
                    pubsub.ping::<redis::Value>()?;
                    pubsub.set_read_timeout(Some(options.poll_interval))?;
                    last_traffic = Instant::now();
                }
            }
            Err(error) => return Err(error),
        }
    }
}

/// Subscribes the channels of groups that gained their first local member and
/// unsubscribes those of groups that lost their last (compared with what is subscribed,
/// so a join and a leave in between cost nothing).
fn sync_groups(
    shared: &Shared,
    pubsub: &mut redis::PubSub<'_>,
    subscribed: &mut HashSet<String>,
    base: &[String],
) -> redis::RedisResult<()> {
    let prefix = &shared.options.prefix;
    let wanted: HashSet<String> = shared
        .groups()
        .keys()
        .map(|group| channel(prefix, &Target::Group(group.clone())))
        .chain(base.iter().cloned())
        .collect();
    let to_add: Vec<&String> = wanted.difference(subscribed).collect();
    let to_remove: Vec<&String> = subscribed.difference(&wanted).collect();
    if !to_add.is_empty() {
        pubsub.subscribe(&to_add)?;
    }
    if !to_remove.is_empty() {
        pubsub.unsubscribe(&to_remove)?;
    }
    shared
        .counters
        .subscribed_channels
        .store(wanted.len(), Relaxed);
    *subscribed = wanted;
    Ok(())
}

/// One message from Redis: checked, and delivered locally unless this server sent it.
fn receive(shared: &Shared, on: &str, bytes: &[u8]) {
    let counters = &shared.counters;
    let envelope = match Envelope::decode(bytes, shared.options.max_envelope_size) {
        Ok(envelope) => envelope,
        Err(EnvelopeError::TooLarge { size, limit }) => {
            counters.too_large.fetch_add(1, Relaxed);
            tracing::warn!(
                size,
                limit,
                channel = on,
                "backplane envelope over the limit"
            );
            return;
        }
        Err(error) => {
            counters.decode_errors.fetch_add(1, Relaxed);
            tracing::warn!(%error, channel = on, "not a backplane envelope");
            return;
        }
    };
    if envelope.origin == shared.server {
        counters.own_skipped.fetch_add(1, Relaxed);
        return;
    }
    // An envelope on a channel its target does not belong on (someone else publishing on
    // the prefix) would reach people it is not for: a group message on `all`, another
    // server's connection message on ours.
    if channel(&shared.options.prefix, &envelope.target) != on {
        counters.decode_errors.fetch_add(1, Relaxed);
        tracing::warn!(channel = on, "backplane envelope on the wrong channel");
        return;
    }
    counters.received.fetch_add(1, Relaxed);
    let message = PreparedMessage::new(envelope.kind, envelope.payload);
    shared.local.deliver(&envelope.target, &message);
    counters.delivered.fetch_add(1, Relaxed);
}
