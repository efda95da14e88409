//! The server end's driver (the sans-IO loop every runtime adapter carries out), after a real
//! in-memory opening handshake, over a scripted transport: bytes from the peer cut at
//! arbitrary points, room to write or a blocked write, time passing, with and without
//! permessage-deflate, while the application receives whole messages or pieces, waits for
//! room to send, flushes, closes and sends; then the peer's end of stream.
//!
//! It must never panic, and no drive may take steps forever. The other invariants are in
//! `ropeway_fuzz::driver`; the input layout in `ropeway_fuzz::script`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ropeway_core::Role;

fuzz_target!(|data: &[u8]| ropeway_fuzz::driver::run(Role::Server, data));
