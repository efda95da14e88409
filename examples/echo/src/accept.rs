//! What the accept loops (one per runtime) do when `accept` fails, from the shared policy
//! ([`AcceptBackoff`]): a failure that belongs to one connection is logged and the loop goes
//! on at once; running out of descriptors or memory (EMFILE, ENFILE …) pauses the loop,
//! doubling the pause up to a second, and is logged once per episode, with one more line
//! when accepting works again. Retrying at once would spin a core at 100 % and print
//! hundreds of thousands of lines a second until some connection closes.

use std::io;
use std::time::Duration;

use ropeway_common::{AcceptAction, AcceptBackoff};

/// Records a failed `accept`; returns how long to pause before the next one, if at all.
pub fn failed(backoff: &mut AcceptBackoff, error: &io::Error) -> Option<Duration> {
    match backoff.on_error(error) {
        AcceptAction::Retry => {
            eprintln!("accept failed: {error}");
            None
        }
        AcceptAction::Pause { delay, first } => {
            if first {
                eprintln!(
                    "accept failed: {error}; pausing accepts until connections close (logged once)"
                );
            }
            Some(delay)
        }
    }
}

/// Records a successful `accept`, saying so once after an episode of failures.
pub fn succeeded(backoff: &mut AcceptBackoff) {
    if let Some(failures) = backoff.on_success() {
        eprintln!("accepting again after {failures} failures");
    }
}
