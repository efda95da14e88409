//! The loop's one deadline structure: a min-heap of (deadline, slot, generation) with lazy
//! invalidation. A connection remembers the one deadline it has armed here; an entry that no
//! longer matches it (the connection ended, or armed an earlier one) is dropped when it comes
//! up. A connection pushes only a deadline earlier than the one it has armed, so the heap
//! holds about one entry per connection, however often its deadlines move.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// The slot number of the accept pause (not a connection).
pub(crate) const ACCEPT_PAUSE: u32 = u32::MAX;

/// A deadline in the heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// The loop's deadlines.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Deadline>>,
}

impl Timers {
    pub(crate) fn push(&mut self, deadline: Deadline) {
        self.heap.push(Reverse(deadline));
    }

    /// Takes the earliest deadline if it passed at `now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Deadline> {
        if self.heap.peek()?.0.at <= now {
            return self.heap.pop().map(|Reverse(d)| d);
        }
        None
    }

    /// How long the loop may sleep: until the earliest deadline (`None`: no deadline).
    pub(crate) fn timeout(&self, now: Instant) -> Option<Duration> {
        let Reverse(first) = self.heap.peek()?;
        // Rounded up to the next millisecond: epoll sleeps in milliseconds, and waking a
        // little early would only find nothing due and sleep again.
        let wait = first.at.saturating_duration_since(now);
        Some(
            wait.as_micros()
                .div_ceil(1000)
                .try_into()
                .map_or(wait, Duration::from_millis),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_come_out_earliest_first_and_only_once_due() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        for (ms, index) in [(30, 3), (10, 1), (20, 2)] {
            timers.push(Deadline {
                at: t0 + Duration::from_millis(ms),
                index,
                generation: 0,
            });
        }
        assert_eq!(timers.timeout(t0), Some(Duration::from_millis(10)));
        assert_eq!(timers.pop_expired(t0), None);
        let due = t0 + Duration::from_millis(25);
        let popped: Vec<u32> = std::iter::from_fn(|| timers.pop_expired(due))
            .map(|d| d.index)
            .collect();
        assert_eq!(popped, [1, 2]);
        // Rounded up to whole milliseconds: the loop never wakes before the deadline.
        let timeout = timers.timeout(t0 + Duration::from_micros(20_500));
        assert_eq!(timeout, Some(Duration::from_millis(10)));
    }
}
