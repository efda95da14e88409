//! What the handle and both threads share: settings, counters, the wanted group channels,
//! the stop flag, the server's local delivery and the event callback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ropeway_core::backplane::{LocalDelivery, ServerId};

use crate::options::{RedisEvent, RedisOptions};
use crate::redact::redact;
use crate::stats::Counters;

pub(crate) struct Shared {
    pub(crate) server: ServerId,
    pub(crate) options: RedisOptions,
    pub(crate) client: redis::Client,
    pub(crate) local: Arc<dyn LocalDelivery>,
    pub(crate) counters: Counters,
    pub(crate) stop: AtomicBool,
    /// Local members per group: the subscriber keeps a channel for each key.
    groups: Mutex<HashMap<String, usize>>,
    /// Set when `groups` gained or lost a key: the subscriber compares on its next wake.
    pub(crate) groups_changed: AtomicBool,
}

impl Shared {
    pub(crate) fn new(
        server: ServerId,
        options: RedisOptions,
        client: redis::Client,
        local: Arc<dyn LocalDelivery>,
    ) -> Shared {
        Shared {
            server,
            options,
            client,
            local,
            counters: Counters::default(),
            stop: AtomicBool::new(false),
            groups: Mutex::new(HashMap::new()),
            groups_changed: AtomicBool::new(false),
        }
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// The group table; a panic elsewhere while it was held leaves counts, still usable.
    pub(crate) fn groups(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn join(&self, group: &str) {
        let mut groups = self.groups();
        let count = groups.entry(group.to_owned()).or_insert(0);
        *count += 1;
        if *count == 1 {
            self.groups_changed.store(true, Ordering::Release);
        }
    }

    pub(crate) fn leave(&self, group: &str) {
        let mut groups = self.groups();
        // A leave without a join (a caller's mistake) must not underflow the count.
        if let Some(count) = groups.get_mut(group) {
            *count -= 1;
            if *count == 0 {
                groups.remove(group);
                self.groups_changed.store(true, Ordering::Release);
            }
        }
    }

    /// The error text of `error`, without the URL's password.
    pub(crate) fn describe(&self, error: &redis::RedisError) -> String {
        let info = self.client.get_connection_info();
        redact(&error.to_string(), info.redis_settings().password())
    }

    pub(crate) fn emit(&self, event: RedisEvent) {
        match &event {
            RedisEvent::Connected { link } => tracing::info!(?link, "redis backplane connected"),
            RedisEvent::Disconnected { link, error } => {
                tracing::warn!(?link, error, "redis backplane disconnected")
            }
            RedisEvent::Lost { messages } => {
                tracing::warn!(messages, "redis backplane lost publications")
            }
        }
        if let Some(callback) = &self.options.on_event {
            callback(&event);
        }
    }
}
