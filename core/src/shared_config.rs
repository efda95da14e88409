//! One shared copy of the core settings for the many connections that use the same ones.
//!
//! A server accepts thousands of connections with one `ServerConfig`; each `Connection`
//! keeps its settings behind an `Arc`, and this table hands out the same `Arc` for equal
//! settings instead of a fresh copy per connection (88 bytes each, on every idle connection).
//! `ServerConfig::core` stays a plain, editable `Config`: sharing is found by comparing.

use std::sync::{Arc, Mutex};

use crate::config::Config;

/// How many distinct settings are remembered; a process rarely has more than a few.
const SLOTS: usize = 4;

static RECENT: Mutex<[Option<Arc<Config>>; SLOTS]> = Mutex::new([const { None }; SLOTS]);

/// An `Arc` holding settings equal to `config`, shared with earlier callers when possible.
pub fn shared(config: &Config) -> Arc<Config> {
    // A poisoned lock only means another thread panicked mid-lookup; the table is still a
    // valid cache.
    let mut recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = recent.iter().flatten().find(|c| ***c == *config) {
        return Arc::clone(found);
    }
    let fresh = Arc::new(*config);
    // Newest first; the oldest falls out (its connections keep their own `Arc`).
    recent.rotate_right(1);
    recent[0] = Some(Arc::clone(&fresh));
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_settings_share_one_copy_and_different_ones_do_not() {
        let a = Config::default();
        let mut b = Config::default();
        b.limits.max_message_size = 12_345;
        let (a1, b1, a2, b2) = (shared(&a), shared(&b), shared(&a), shared(&b));
        assert!(Arc::ptr_eq(&a1, &a2));
        assert!(Arc::ptr_eq(&b1, &b2));
        assert!(!Arc::ptr_eq(&a1, &b1));
        assert_eq!(*b1, b);
    }
}
