//! A server's side of a backplane: an arbitrary message from a Redis channel
//! (`ropeway_fuzz::backplane::envelope`) must never panic, and what decodes must encode back
//! to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ropeway_fuzz::backplane::envelope(data));
