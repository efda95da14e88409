//! The server's side of an HTTP/2 extended CONNECT (RFC 8441): a request head from arbitrary
//! bytes, turned into the CONNECT request the HTTP/2 layer hands over, then
//! `UpgradeRequest::from_extended_connect`, negotiation and the 200 answer
//! (`ropeway_fuzz::handshake::h2_connect`). It must never panic, and an accepted request
//! must get a 200 without an accept key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ropeway_fuzz::handshake::h2_connect(data));
