//! The client's side of a proxy handshake (HTTP `CONNECT`, SOCKS5, SOCKS4a) fed an arbitrary
//! proxy reply cut at arbitrary points (`ropeway_fuzz::proxy::reply`): it must never panic,
//! and cutting the reply must change nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ropeway_fuzz::proxy::reply(data));
