//! The server's side of the opening handshake: `RequestReader::recv` fed arbitrary bytes
//! cut at arbitrary points, then `UpgradeRequest::from_request`, extension negotiation with
//! a `DeflateServer`, and `accept(&Accept::default())` plus the negotiated answer.
//!
//! It must never panic. It also checks that cutting the input changes nothing and that the
//! written answer carries the negotiated extension and subprotocol intact
//! (`ropeway_fuzz::handshake::request`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ropeway_fuzz::handshake::request(data));
