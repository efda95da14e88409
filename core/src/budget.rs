//! A budget for the bytes that all the connections of a server (or a loop) buffer together.
//!
//! Each connection has its own limits (message size, queued output), but they multiply: 40
//! peers that never read hold 40 × their output, 20 that send half of a 16 MiB frame and go
//! quiet hold 20 × 16 MiB, whatever the attacker chooses. A [`MemoryBudget`] shared by the
//! connections bounds the sum: each connection's driver charges it with what it buffers
//! (its read buffer's capacity, the message being assembled, its queued output), and while
//! the budget is spent, a connection that would buffer more than its share
//! ([`MemoryBudget::share`]) to read on is failed with 1013 (try again later) instead. So N
//! hostile peers hold at most the budget plus N shares, and a normal client, which buffers
//! less than a share, is still served.
//!
//! The budget is counted, not allocated: an atomic counter, charged when a connection's
//! buffers change and released when it ends.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The default share: what a connection may always buffer to read on, budget or not. A
/// normal exchange of small messages stays under it.
pub const DEFAULT_SHARE: usize = 64 << 10;

/// A budget for the bytes that the connections sharing it buffer together (see the
/// [module docs](self)). Share one `Arc<MemoryBudget>` between all the connections of a
/// server (`ServerConfig::memory_budget`).
///
/// ```
/// use ropeway_core::budget::MemoryBudget;
///
/// let budget = MemoryBudget::new(256 << 20); // 256 MiB for every connection together
/// assert_eq!(budget.used(), 0);
/// assert_eq!(budget.refusals(), 0);
/// ```
pub struct MemoryBudget {
    limit: usize,
    share: usize,
    used: AtomicUsize,
    refusals: AtomicU64,
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("limit", &self.limit)
            .field("share", &self.share)
            .field("used", &self.used())
            .field("refusals", &self.refusals())
            .finish()
    }
}

impl MemoryBudget {
    /// A budget of `limit` bytes, with the default share ([`DEFAULT_SHARE`], 64 KiB).
    pub fn new(limit: usize) -> Self {
        MemoryBudget::with_share(limit, DEFAULT_SHARE)
    }

    /// A budget of `limit` bytes where each connection may always buffer `share` bytes.
    pub fn with_share(limit: usize, share: usize) -> Self {
        MemoryBudget {
            limit,
            share,
            used: AtomicUsize::new(0),
            refusals: AtomicU64::new(0),
        }
    }

    /// The budget, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// What each connection may buffer to read on whatever the budget.
    pub fn share(&self) -> usize {
        self.share
    }

    /// Bytes the connections buffer now, together.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Connections failed with 1013 so far because the budget was spent.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// Whether a connection that buffers `held` bytes (charged already) may grow to
    /// `held + more` to read on.
    pub(crate) fn allows(&self, held: usize, more: usize) -> bool {
        let after = held.saturating_add(more);
        after <= self.share || self.used().saturating_add(more) <= self.limit
    }

    pub(crate) fn refused(&self) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
    }

    fn charge(&self, from: usize, to: usize) {
        if to > from {
            self.used.fetch_add(to - from, Ordering::Relaxed);
        } else if from > to {
            self.used.fetch_sub(from - to, Ordering::Relaxed);
        }
    }
}

/// One connection's account with a budget: what it charged, given back when it ends.
#[derive(Debug)]
pub(crate) struct Account {
    budget: std::sync::Arc<MemoryBudget>,
    charged: usize,
}

impl Account {
    pub(crate) fn new(budget: std::sync::Arc<MemoryBudget>) -> Self {
        Account { budget, charged: 0 }
    }

    pub(crate) fn budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// What this connection charged.
    pub(crate) fn charged(&self) -> usize {
        self.charged
    }

    /// Charges what the connection buffers now.
    pub(crate) fn settle(&mut self, held: usize) {
        if held != self.charged {
            self.budget.charge(self.charged, held);
            self.charged = held;
        }
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        self.budget.charge(self.charged, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn accounts_charge_and_give_back() {
        let budget = Arc::new(MemoryBudget::with_share(1000, 100));
        let mut a = Account::new(budget.clone());
        let mut b = Account::new(budget.clone());
        a.settle(600);
        b.settle(300);
        assert_eq!(budget.used(), 900);
        a.settle(200);
        assert_eq!(budget.used(), 500);
        drop(b);
        assert_eq!(budget.used(), 200);
        drop(a);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn growth_within_the_share_is_always_allowed_beyond_it_only_within_the_budget() {
        let budget = Arc::new(MemoryBudget::with_share(1000, 100));
        let mut hog = Account::new(budget.clone());
        hog.settle(950);
        assert!(budget.allows(0, 100), "a share is always allowed");
        assert!(budget.allows(40, 50));
        assert!(
            !budget.allows(0, 101),
            "past the share, the budget is spent"
        );
        assert!(
            budget.allows(0, 50) && budget.allows(950, 50),
            "50 more fit the budget"
        );
        hog.settle(100);
        assert!(budget.allows(0, 800));
    }
}
