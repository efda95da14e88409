//! The client's side of the opening handshake: `ClientHandshake::new` offering
//! permessage-deflate (and subprotocols), then `recv` fed arbitrary bytes cut at arbitrary
//! points; the bytes after an accepted response go on to a client connection with the
//! accepted extension.
//!
//! It must never panic. It also checks that cutting the input changes nothing and that an
//! accepted subprotocol was one offered (`ropeway_fuzz::handshake::response`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ropeway_fuzz::handshake::response(data));
