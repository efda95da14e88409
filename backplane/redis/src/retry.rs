//! Waiting between attempts to reach Redis: the core's backoff schedule decides how long,
//! this only sleeps, in short steps so that a stop is seen promptly.

use std::io;
use std::time::{Duration, Instant, SystemTime};

use ropeway_core::SeededEntropy;
use ropeway_core::reconnect::{Backoff, Decision, Disconnect};

use crate::shared::Shared;

/// The longest single sleep: how late a stop can be seen while waiting.
const STEP: Duration = Duration::from_millis(50);

pub(crate) struct Retry {
    backoff: Backoff,
    entropy: SeededEntropy,
    /// A link was up before: the next connection is a reconnect.
    pub(crate) was_up: bool,
}

impl Retry {
    pub(crate) fn new(shared: &Shared) -> Retry {
        let mut seed = [0; 32];
        // Jitter only has to differ between servers, not be secret.
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&ropeway_core::backplane::ServerId::random().0.to_le_bytes());
        }
        Retry {
            backoff: Backoff::new(shared.options.reconnect.clone()),
            entropy: SeededEntropy::from_seed(seed),
            was_up: false,
        }
    }

    /// A link came up now.
    pub(crate) fn connected(&mut self, shared: &Shared) {
        if self.was_up {
            shared
                .counters
                .reconnects
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.was_up = true;
        self.backoff.connected(Instant::now());
    }

    /// A link failed or could not be made: sleeps until the schedule's next attempt, or
    /// until a stop. Returns false on a stop.
    pub(crate) fn wait(&mut self, shared: &Shared, error: &str) -> bool {
        let now = Instant::now();
        // Every failure to reach Redis is worth another try: the cause goes in as a
        // transient I/O error whatever it was.
        let why = Disconnect::Failed(io::Error::other(error.to_owned()).into());
        let until = match self
            .backoff
            .disconnected(&why, now, SystemTime::now(), &mut self.entropy)
        {
            Decision::Retry { at, .. } => at,
            // The policy's attempts ran out: a backplane keeps trying, at the longest delay.
            Decision::Stop(_) => {
                self.backoff = Backoff::new(shared.options.reconnect.clone());
                now + shared.options.reconnect.max_delay
            }
        };
        sleep_until(shared, until)
    }
}

/// Sleeps until `until` or a stop; false on a stop.
pub(crate) fn sleep_until(shared: &Shared, until: Instant) -> bool {
    loop {
        if shared.stopped() {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(STEP));
    }
}
