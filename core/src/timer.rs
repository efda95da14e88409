//! The timer table: every deadline the core keeps, in one place. The adapter sleeps until
//! [`TimerTable::next`] and then calls `handle_timeout`.

use std::time::Instant;

/// The core's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Time to check whether the connection was quiet, and ping if it was.
    KeepAlive,
    /// The peer must have sent something since the keep-alive ping by now.
    KeepAliveTimeout,
    /// The close handshake (and, for a client, the server's end of the transport) must be
    /// complete by now.
    Close,
    /// The transport must have taken some of the queued output by now.
    WriteStall,
}

impl Timer {
    const ALL: [Timer; 4] = [
        Timer::KeepAlive,
        Timer::KeepAliveTimeout,
        Timer::Close,
        Timer::WriteStall,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Deadlines by timer, as nanoseconds after `base` plus one (0 is unarmed): half the size
/// of `Instant`s, on every connection for its whole life.
#[derive(Clone, Debug)]
pub(crate) struct TimerTable {
    base: Instant,
    deadlines: [u64; 4],
    /// Changes on every arming or stopping, so a caller can tell that the next deadline
    /// may have moved since it last looked.
    epoch: u8,
}

impl TimerTable {
    /// A table whose deadlines are counted from `base` (none may be earlier).
    pub(crate) fn new(base: Instant) -> Self {
        TimerTable {
            base,
            deadlines: [0; 4],
            epoch: 0,
        }
    }

    fn encode(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.base).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1
    }

    fn decode(&self, slot: u64) -> Option<Instant> {
        (slot != 0).then(|| self.base + std::time::Duration::from_nanos(slot - 1))
    }

    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = self.encode(at);
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Arms `timer` for `at` unless it is armed for an earlier deadline already.
    pub(crate) fn set_earlier(&mut self, timer: Timer, at: Instant) {
        let slot = self.deadlines[timer.index()];
        if slot == 0 || self.encode(at) < slot {
            self.set(timer, at);
        }
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        if self.deadlines[timer.index()] != 0 {
            self.deadlines[timer.index()] = 0;
            self.epoch = self.epoch.wrapping_add(1);
        }
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [0; 4];
        self.epoch = self.epoch.wrapping_add(1);
    }

    pub(crate) fn is_armed(&self, timer: Timer) -> bool {
        self.deadlines[timer.index()] != 0
    }

    /// Changes whenever a deadline is armed or stopped.
    pub(crate) fn epoch(&self) -> u8 {
        self.epoch
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        let earliest = self.deadlines.iter().filter(|&&d| d != 0).min()?;
        self.decode(*earliest)
    }

    /// Unarms and returns the first timer (in table order) that is due at `now`.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let now = self.encode(now);
        let timer = Timer::ALL
            .into_iter()
            .find(|t| matches!(self.deadlines[t.index()], d if d != 0 && d <= now))?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_deadline_and_expiry() {
        let t0 = Instant::now();
        let mut table = TimerTable::new(t0);
        assert_eq!(table.next(), None);
        table.set(Timer::Close, t0 + Duration::from_secs(5));
        table.set(Timer::KeepAlive, t0 + Duration::from_secs(2));
        assert_eq!(table.next(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(table.take_expired(t0 + Duration::from_secs(1)), None);
        assert_eq!(
            table.take_expired(t0 + Duration::from_secs(9)),
            Some(Timer::KeepAlive)
        );
        assert_eq!(
            table.take_expired(t0 + Duration::from_secs(9)),
            Some(Timer::Close)
        );
        assert_eq!(table.take_expired(t0 + Duration::from_secs(9)), None);
        assert!(!table.is_armed(Timer::Close));
    }
}
