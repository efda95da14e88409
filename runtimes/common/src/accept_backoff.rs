//! What an accept loop does when `accept` fails.
//!
//! Most accept errors belong to one connection that was reset before it was accepted
//! (`ECONNABORTED`, `EPROTO`, `EINTR` …): the next `accept` may well succeed, so the loop
//! goes on at once. Running out of a resource (`EMFILE`/`ENFILE`: the process's or system's
//! file limit; `ENOBUFS`/`ENOMEM`) is different: the pending connection stays in the backlog
//! and every retry fails the same way until some connection closes. Retrying at once then
//! spins a core at 100 % and floods the log, so the loop pauses, doubling the pause from
//! 5 ms up to 1 s (Go's `net/http` does the same), and logs once per episode instead of once
//! per failure.

use std::io;
use std::time::Duration;

/// The first pause after a resource error.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause: short enough that a freed descriptor is used soon after.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Tracks an accept loop's failures: one per listener, told about every result of `accept`.
///
/// ```
/// use std::time::Duration;
/// use ropeway_common::{AcceptAction, AcceptBackoff};
///
/// let mut backoff = AcceptBackoff::new();
/// let emfile = std::io::Error::from_raw_os_error(24); // EMFILE on Linux and macOS
/// assert_eq!(
///     backoff.on_error(&emfile),
///     AcceptAction::Pause { delay: Duration::from_millis(5), first: true }
/// );
/// assert_eq!(
///     backoff.on_error(&emfile),
///     AcceptAction::Pause { delay: Duration::from_millis(10), first: false }
/// );
/// assert_eq!(backoff.on_success(), Some(2)); // the episode ended after 2 failures
/// ```
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    /// The pause after the next resource error; zero outside an episode.
    next_pause: Duration,
    /// Resource errors in the current episode.
    failures: u64,
}

/// What to do after a failed `accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptAction {
    /// The error belonged to one connection: accept again at once (log it at debug level).
    Retry,
    /// Out of descriptors or memory: stop accepting for `delay`, then try again. `first` is
    /// true for the first error of an episode, the one to log (at warn level).
    Pause {
        /// How long to stop accepting.
        delay: Duration,
        /// Whether this error starts an episode.
        first: bool,
    },
}

impl AcceptBackoff {
    /// A tracker outside any episode.
    pub fn new() -> AcceptBackoff {
        AcceptBackoff::default()
    }

    /// Classifies a failed `accept` and, for a resource error, says how long to pause.
    pub fn on_error(&mut self, error: &io::Error) -> AcceptAction {
        if !is_resource_exhaustion(error) {
            return AcceptAction::Retry;
        }
        let first = self.failures == 0;
        self.failures += 1;
        let delay = self.next_pause.max(FIRST_PAUSE);
        self.next_pause = (delay * 2).min(MAX_PAUSE);
        AcceptAction::Pause { delay, first }
    }

    /// Records a successful `accept`. Returns the number of resource errors if this ends an
    /// episode (log "accepting again after N failures" once), `None` otherwise.
    pub fn on_success(&mut self) -> Option<u64> {
        if self.failures == 0 {
            return None;
        }
        let failures = self.failures;
        *self = AcceptBackoff::default();
        Some(failures)
    }

    /// Whether the loop is in an episode of resource errors.
    pub fn in_episode(&self) -> bool {
        self.failures > 0
    }
}

/// Whether `error` says the process or system ran out of descriptors or memory, the errors
/// that a retry at once cannot fix.
pub fn is_resource_exhaustion(error: &io::Error) -> bool {
    if error.kind() == io::ErrorKind::OutOfMemory {
        return true;
    }
    let Some(code) = error.raw_os_error() else {
        return false;
    };
    #[cfg(unix)]
    {
        [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM].contains(&code)
    }
    #[cfg(windows)]
    {
        // WSAEMFILE, WSAENOBUFS.
        [10024, 10055].contains(&code)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = code;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn per_connection_errors_retry_at_once() {
        let mut backoff = AcceptBackoff::new();
        for code in [libc::ECONNABORTED, libc::EPROTO, libc::EINTR, libc::EPERM] {
            assert_eq!(backoff.on_error(&os(code)), AcceptAction::Retry);
        }
        assert!(!backoff.in_episode());
        assert_eq!(backoff.on_success(), None);
    }

    #[test]
    fn descriptor_exhaustion_pauses_doubling_up_to_a_second_and_logs_once() {
        let mut backoff = AcceptBackoff::new();
        let mut delays = Vec::new();
        let mut firsts = 0;
        for _ in 0..12 {
            match backoff.on_error(&os(libc::EMFILE)) {
                AcceptAction::Pause { delay, first } => {
                    delays.push(delay.as_millis());
                    firsts += usize::from(first);
                }
                AcceptAction::Retry => panic!("EMFILE must pause"),
            }
        }
        assert_eq!(firsts, 1);
        assert_eq!(&delays[..9], &[5, 10, 20, 40, 80, 160, 320, 640, 1000]);
        assert!(delays[9..].iter().all(|&d| d == 1000));
        assert_eq!(backoff.on_success(), Some(12));
        // A new episode starts from the first pause again.
        assert_eq!(
            backoff.on_error(&os(libc::ENFILE)),
            AcceptAction::Pause {
                delay: FIRST_PAUSE,
                first: true
            }
        );
    }

    #[test]
    fn memory_and_buffer_exhaustion_pause_too() {
        for code in [libc::ENOBUFS, libc::ENOMEM] {
            assert!(is_resource_exhaustion(&os(code)));
        }
        assert!(!is_resource_exhaustion(&io::Error::other(
            "not an OS error"
        )));
    }
}
