//! The echo server role of the ropeway-mio testee (wstest's fuzzingclient tests it): the
//! event-loop server. A placeholder until that server lands; it fails instead of passing.

/// Serves an echo endpoint on `addr` until the process is stopped.
pub fn run(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    Err(format!("the ropeway-mio server role is not yet written (asked to listen on {addr})").into())
}
