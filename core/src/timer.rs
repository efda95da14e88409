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

/// Deadlines by timer; `None` is unarmed.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; 4],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [None; 4];
    }

    pub(crate) fn is_armed(&self, timer: Timer) -> bool {
        self.deadlines[timer.index()].is_some()
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Unarms and returns the first timer (in table order) that is due at `now`.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .find(|t| self.deadlines[t.index()].is_some_and(|at| at <= now))?;
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
        let mut table = TimerTable::default();
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
