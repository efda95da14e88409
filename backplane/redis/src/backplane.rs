//! [`RedisBackplane`]: the handle the server holds, and the two threads behind it.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ropeway_core::MessageKind;
use ropeway_core::backplane::{Backplane, LocalDelivery, ServerId, Target};

use crate::error::Error;
use crate::options::RedisOptions;
use crate::publisher::{self, Outgoing};
use crate::redact::redact_url;
use crate::shared::Shared;
use crate::stats::RedisStats;
use crate::subscriber;

/// A backplane on Redis pub/sub: a server's messages for all, a group or one connection
/// reach the servers that have members for them. Cheap to clone; the threads end with
/// [`RedisBackplane::stop`] or when the last clone is dropped.
///
/// ```no_run
/// use std::sync::Arc;
/// use ropeway_core::PreparedMessage;
/// use ropeway_core::backplane::{Backplane, LocalDelivery, Target};
/// use ropeway_redis::{RedisBackplane, RedisOptions};
///
/// struct Print;
/// impl LocalDelivery for Print {
///     fn deliver(&self, target: &Target, message: &PreparedMessage) {
///         println!("{target:?}: {:?}", message.payload());
///     }
/// }
///
/// let backplane = RedisBackplane::start("redis://127.0.0.1:6379", RedisOptions::default(), Arc::new(Print))?;
/// backplane.join("lobby"); // a local member: the lobby's channel is subscribed
/// backplane.publish(Target::Group("lobby".into()), ropeway_core::MessageKind::Text, "hi".into());
/// # Ok::<(), ropeway_redis::Error>(())
/// ```
#[derive(Clone)]
pub struct RedisBackplane {
    owner: Arc<Owner>,
}

/// Dropped with the last handle: stops the threads.
struct Owner {
    shared: Arc<Shared>,
    queue: SyncSender<Outgoing>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    url: String,
}

impl std::fmt::Debug for RedisBackplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackplane")
            .field("url", &self.owner.url)
            .field("server", &self.owner.shared.server)
            .field("stats", &self.stats())
            .finish()
    }
}

impl RedisBackplane {
    /// Starts the backplane's threads for the Redis at `url` (`redis://[user:password@]host[:port][/db]`)
    /// and returns at once, with a random [`ServerId`]: the links come up in the background
    /// and are retried for as long as the backplane runs (a server starts and serves its
    /// local traffic with Redis away). Messages from other servers go to `local`.
    ///
    /// Fails only on a URL the client does not accept, or if a thread cannot be started.
    pub fn start(
        url: &str,
        options: RedisOptions,
        local: Arc<dyn LocalDelivery>,
    ) -> Result<RedisBackplane, Error> {
        RedisBackplane::start_with_id(url, options, local, ServerId::random())
    }

    /// [`start`](Self::start) with a chosen server id, unique among the servers on the
    /// same Redis and prefix.
    pub fn start_with_id(
        url: &str,
        options: RedisOptions,
        local: Arc<dyn LocalDelivery>,
        server: ServerId,
    ) -> Result<RedisBackplane, Error> {
        let redacted = redact_url(url);
        let client = redis::Client::open(url).map_err(|e| Error::Url {
            url: redacted.clone(),
            reason: e.to_string().replace(url, &redacted),
        })?;
        let (queue, receiver) = sync_channel(options.publish_queue.max(1));
        let shared = Arc::new(Shared::new(server, options, client, local));
        let mut threads = Vec::with_capacity(2);
        let spawned = spawn("ropeway-redis-sub", &shared, subscriber::run).and_then(|t| {
            threads.push(t);
            spawn("ropeway-redis-pub", &shared, move |s| {
                publisher::run(s, receiver)
            })
        });
        let owner = Owner {
            shared,
            queue,
            threads: Mutex::new(threads),
            url: redacted,
        };
        // On a failed spawn, dropping `owner` stops the thread that did start.
        owner.threads_push(spawned?);
        Ok(RedisBackplane {
            owner: Arc::new(owner),
        })
    }

    /// What the backplane did so far, and whether both links are up.
    pub fn stats(&self) -> RedisStats {
        self.owner.shared.counters.snapshot()
    }

    /// Waits up to `timeout` for both links to be up; true if they are.
    pub fn wait_connected(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if self.stats().connected {
                return true;
            }
            if Instant::now() >= until || self.owner.shared.stopped() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The Redis URL, without its password.
    pub fn url(&self) -> &str {
        &self.owner.url
    }

    /// Stops both threads and waits for them (each sees the stop within about
    /// [`RedisOptions::poll_interval`], or its connect or I/O timeout if it is in the
    /// middle of one). Publishing afterwards drops. Every clone is stopped.
    pub fn stop(&self) {
        self.owner.stop();
    }
}

impl Owner {
    fn threads_push(&self, thread: JoinHandle<()>) {
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(thread);
    }

    fn stop(&self) {
        self.shared.stop.store(true, Release);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        let me = std::thread::current().id();
        for thread in threads {
            // Stopped from an event callback, on one of the backplane's own threads: that
            // thread ends by itself once the callback returns.
            if thread.thread().id() != me {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(
    name: &str,
    shared: &Arc<Shared>,
    body: impl FnOnce(&Shared) + Send + 'static,
) -> Result<JoinHandle<()>, Error> {
    let shared = shared.clone();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || body(&shared))
        .map_err(Error::Spawn)
}

impl Backplane for RedisBackplane {
    fn server_id(&self) -> ServerId {
        self.owner.shared.server
    }

    /// Queues the message for the publisher thread, or drops and counts it when the link
    /// to Redis is down, the queue is at its bound, or the payload is over
    /// [`RedisOptions::max_envelope_size`]. Never blocks.
    fn publish(&self, target: Target, kind: MessageKind, payload: Bytes) {
        let shared = &self.owner.shared;
        let counters = &shared.counters;
        if shared.stopped() || !counters.publisher_up.load(Acquire) {
            counters.dropped(1);
            return;
        }
        let len = payload.len();
        // The receivers would refuse it (if their limit is this server's): not worth a
        // round trip.
        if len > shared.options.max_envelope_size {
            counters.dropped(1);
            return;
        }
        let before = counters.queued_bytes.fetch_add(len, Relaxed);
        if before.saturating_add(len) > shared.options.publish_queue_bytes {
            counters.queued_bytes.fetch_sub(len, Relaxed);
            counters.dropped(1);
            return;
        }
        let message = Outgoing {
            target,
            kind,
            payload,
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.owner.queue.try_send(message)
        {
            counters.queued_bytes.fetch_sub(len, Relaxed);
            counters.dropped(1);
        }
    }

    fn join(&self, group: &str) {
        self.owner.shared.join(group);
    }

    fn leave(&self, group: &str) {
        self.owner.shared.leave(group);
    }
}
