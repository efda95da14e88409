//! The proxy handshakes' engine: `ProxyHandshake` (HTTP `CONNECT`, SOCKS5 with and without
//! a password, SOCKS4a) fed an arbitrary proxy reply cut at arbitrary points, and in one
//! piece for comparison.
//!
//! It must never panic, and cutting the reply must change nothing: the outcome, what the
//! client wrote, and the bytes left for the tunnel.

use ropeway_core::proxy::{Proxy, ProxyHandshake};
use ropeway_core::{BytesMut, Limits};

/// The input: a flags byte (bits 0–1: the proxy; bit 4: small head limits), a count of
/// cuts (low 3 bits), that many cut offsets, then the proxy's reply.
pub fn reply(data: &[u8]) {
    let [flags, count, rest @ ..] = data else {
        return;
    };
    let cuts = usize::from(count & 7).min(rest.len());
    let (cuts, reply) = rest.split_at(cuts);
    let proxy = match flags & 3 {
        0 => "http://user:pw@proxy:3128",
        1 => "socks5://proxy",
        2 => "socks5h://user:pw@proxy",
        _ => "socks4a://user@proxy",
    };
    let proxy = Proxy::parse(proxy).expect("a valid proxy URL");
    let limits = if flags & 0x10 != 0 {
        Limits {
            max_handshake_size: 64,
            max_handshake_headers: 4,
            ..Limits::DEFAULT
        }
    } else {
        Limits::DEFAULT
    };
    let cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c)).collect();
    let whole = run(&proxy, &limits, reply, &[]);
    let cut = run(&proxy, &limits, reply, &cuts);
    assert_eq!(
        whole, cut,
        "cutting the reply at {cuts:?} changed the outcome"
    );
}

/// The outcome (the error's `Debug`, "open" or "incomplete"), what the client wrote, and the
/// bytes left for the tunnel (with what followed the chunk that opened it).
fn run(proxy: &Proxy, limits: &Limits, reply: &[u8], cuts: &[usize]) -> (String, Vec<u8>, Vec<u8>) {
    let mut written = BytesMut::new();
    let mut handshake = ProxyHandshake::new(proxy, "ws.example", 443, limits, &mut written)
        .expect("a valid target");
    let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(reply.len())).collect();
    points.extend([0, reply.len()]);
    points.sort_unstable();
    let mut input = BytesMut::new();
    for pair in points.windows(2) {
        input.extend_from_slice(&reply[pair[0]..pair[1]]);
        match handshake.recv(&mut input, &mut written) {
            Ok(true) => {
                input.extend_from_slice(&reply[pair[1]..]);
                return ("open".into(), written.to_vec(), input.to_vec());
            }
            Ok(false) => {}
            Err(e) => return (format!("{e:?}"), written.to_vec(), Vec::new()),
        }
    }
    ("incomplete".into(), written.to_vec(), input.to_vec())
}
