//! The publisher thread: takes messages from the bounded publish queue and sends them to
//! Redis with `PUBLISH`, several per round trip. While the link is down nothing is queued
//! (`publish` drops at once), and what was queued when it failed is dropped and counted.

use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ropeway_core::MessageKind;
use ropeway_core::backplane::{Envelope, Target, channel};

use crate::options::{Link, RedisEvent};
use crate::retry::Retry;
use crate::shared::Shared;

/// A message on its way to the publisher thread; encoded there, not on the caller's thread.
pub(crate) struct Outgoing {
    pub(crate) target: Target,
    pub(crate) kind: MessageKind,
    pub(crate) payload: Bytes,
}

/// Messages sent to Redis in one round trip, at most.
const BATCH: usize = 64;
/// How often the thread looks up from an empty queue to see a stop.
const IDLE: Duration = Duration::from_millis(50);
/// Drops are reported in a `Lost` event at most this often.
const LOST_EVERY: Duration = Duration::from_secs(1);

pub(crate) fn run(shared: &Shared, queue: Receiver<Outgoing>) {
    let mut retry = Retry::new(shared);
    let mut last_lost = Instant::now();
    loop {
        if shared.stopped() {
            return;
        }
        let connected = shared
            .client
            .get_connection_with_timeout(shared.options.connect_timeout)
            .and_then(|con| {
                con.set_read_timeout(Some(shared.options.io_timeout))?;
                con.set_write_timeout(Some(shared.options.io_timeout))?;
                Ok(con)
            });
        let error = match connected {
            Ok(mut con) => {
                // Whatever was queued before the link came up is stale by now.
                drop_queued(shared, &queue);
                shared.counters.publisher_up.store(true, Release);
                retry.connected(shared);
                shared.emit(RedisEvent::Connected {
                    link: Link::Publisher,
                });
                let result = serve(shared, &queue, &mut con, &mut last_lost);
                shared.counters.publisher_up.store(false, Release);
                match result {
                    Ok(()) => return,
                    Err(error) => error,
                }
            }
            Err(error) => error,
        };
        shared.emit(RedisEvent::Disconnected {
            link: Link::Publisher,
            error: shared.describe(&error),
        });
        drop_queued(shared, &queue);
        report_lost(shared, &mut last_lost);
        if !retry.wait(shared, &shared.describe(&error)) {
            return;
        }
    }
}

/// Publishes until the link fails (the error) or a stop (`Ok`).
fn serve(
    shared: &Shared,
    queue: &Receiver<Outgoing>,
    con: &mut redis::Connection,
    last_lost: &mut Instant,
) -> redis::RedisResult<()> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_traffic = Instant::now();
    loop {
        if shared.stopped() {
            return Ok(());
        }
        if last_lost.elapsed() >= LOST_EVERY {
            report_lost(shared, last_lost);
        }
        match queue.recv_timeout(IDLE) {
            Ok(first) => batch.push(first),
            Err(RecvTimeoutError::Timeout) => {
                // An idle link that died is found before a publish meets it, so that
                // `connected` says so and publishes are dropped at once, not queued.
                if last_traffic.elapsed() >= shared.options.io_timeout {
                    redis::cmd("PING").exec(con)?;
                    last_traffic = Instant::now();
                }
                continue;
            }
            // Every handle is gone.
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut pipe = redis::pipe();
        for message in batch.drain(..) {
            shared
                .counters
                .queued_bytes
                .fetch_sub(message.payload.len(), Relaxed);
            let channel = channel(&shared.options.prefix, &message.target);
            let envelope = Envelope {
                origin: shared.server,
                target: message.target,
                kind: message.kind,
                payload: message.payload,
            };
            pipe.cmd("PUBLISH")
                .arg(channel)
                .arg(envelope.encode())
                .ignore();
        }
        let count = pipe.len() as u64;
        if let Err(error) = pipe.exec(con) {
            // Some may have gone out before the failure; at most once means counting
            // them all as lost rather than sending any twice.
            shared.counters.dropped(count);
            return Err(error);
        }
        shared.counters.published.fetch_add(count, Relaxed);
        last_traffic = Instant::now();
    }
}

/// Empties the queue, counting what was in it as lost.
fn drop_queued(shared: &Shared, queue: &Receiver<Outgoing>) {
    let mut count = 0;
    while let Ok(message) = queue.try_recv() {
        shared
            .counters
            .queued_bytes
            .fetch_sub(message.payload.len(), Relaxed);
        count += 1;
    }
    if count > 0 {
        shared.counters.dropped(count);
    }
}

fn report_lost(shared: &Shared, last: &mut Instant) {
    *last = Instant::now();
    let messages = shared.counters.unreported_drops.swap(0, Relaxed);
    if messages > 0 {
        shared.emit(RedisEvent::Lost { messages });
    }
}
