//! The client end of a connection, after a real in-memory opening handshake, fed arbitrary
//! bytes from a server (so no frame may be masked), cut at arbitrary points and decoded with `recv` or
//! `recv_partial`, with and without permessage-deflate, interleaved with writes, timers,
//! application sends and closes, then end of stream.
//!
//! It must never panic. Besides that it checks (`ropeway_fuzz::check`): errors are sticky,
//! events make sense (message boundaries, kinds, sizes under the limit, UTF-8 text, nothing
//! after the peer's close), queued output stays within its bound, no timer is left due
//! after `handle_timeout`, and after end of stream the transport can be closed.
//! The input layout is described in `ropeway_fuzz::script`, the flags in
//! `ropeway_fuzz::setup::Flags::from_byte`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ropeway_core::Role;

fuzz_target!(|data: &[u8]| ropeway_fuzz::connection::run(Role::Client, data));
