//! A memory budget shared by a server's connections (DESIGN.md §3.16), tested on driven
//! pairs: peers that each send part of a large frame and go quiet hold at most the budget
//! plus a share each, the ones past it get 1013, a normal client is still served, and the
//! budget is given back when connections end.

mod support;

use std::sync::Arc;

use ropeway_core::budget::MemoryBudget;
use ropeway_core::driver::Goal;
use ropeway_core::frame::{FrameHeader, OpCode};
use ropeway_core::mask::apply_mask;
use ropeway_core::{Config, Connection, Message, Role, SendOptions};

use support::driven::{Driven, Outcome};
use support::{Pair, Whole};

const KIB: usize = 1 << 10;

/// Settings with keep-alive off, so only what a test arms runs.
fn quiet() -> Config {
    Config {
        keep_alive_interval: None,
        keep_alive_timeout: None,
        ..Config::default()
    }
}

/// A pair whose server connection shares `budget`, as `ServerConfig::memory_budget` makes
/// every accepted connection do.
fn pair_sharing(budget: &Arc<MemoryBudget>) -> Driven {
    let mut pair = Pair::with(quiet(), quiet(), Box::new(Whole));
    let placeholder = Connection::server(quiet(), pair.now);
    let conn = std::mem::replace(&mut pair.server.conn, placeholder);
    pair.server.conn = conn.with_memory_budget(Some(budget.clone()));
    Driven::from_pair(pair, 4 << 20, Box::new(Whole))
}

/// The first `sent` bytes of a masked binary frame of `len` bytes, as a client sends it.
fn part_of_a_frame(len: usize, sent: usize) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode: OpCode::Binary,
        mask: Some(key),
        payload_len: len as u64,
    };
    let mut head = [0; 14];
    let n = header.encode(&mut head);
    let mut body = vec![0x5a; sent];
    apply_mask(&mut body, key);
    [&head[..n], &body[..]].concat()
}

/// The close code the client got, if the server closed.
fn close_code(driven: &mut Driven) -> Option<u16> {
    match driven.drive(Role::Client, Goal::Message) {
        Outcome::Reached(next) => match next.into_message() {
            Some(Ok(Message::Close(Some(frame)))) => Some(frame.code.0),
            _ => None,
        },
        Outcome::Waiting => None,
    }
}

#[test]
fn quiet_peers_holding_half_frames_stay_within_the_budget_and_the_rest_get_1013() {
    let (limit, share) = (1 << 20, 64 * KIB);
    let budget = Arc::new(MemoryBudget::with_share(limit, share));
    // Each peer announces a 300 KiB frame, sends 200 KiB of it and goes quiet: the server
    // reserves room for the whole frame as its header arrives.
    let mut attackers: Vec<Driven> = (0..10).map(|_| pair_sharing(&budget)).collect();
    let mut refused = 0;
    for driven in &mut attackers {
        driven
            .outgoing(Role::Client)
            .inject(&part_of_a_frame(300 * KIB, 200 * KIB));
        assert!(matches!(
            driven.drive(Role::Server, Goal::Message),
            Outcome::Waiting | Outcome::Reached(_)
        ));
        if close_code(driven) == Some(1013) {
            refused += 1;
        }
    }
    let used = budget.used();
    assert!(
        used <= limit + attackers.len() * share,
        "{used} bytes buffered for 10 quiet peers under a {limit}-byte budget"
    );
    eprintln!(
        "10 quiet peers: {refused} refused with 1013, {used} bytes buffered (budget {limit})"
    );
    assert!(refused >= 6, "only {refused} of 10 refused");
    assert_eq!(budget.refusals(), refused as u64);

    // A normal client is still served while the budget is spent.
    let mut normal = pair_sharing(&budget);
    normal
        .driver(Role::Client)
        .send(Message::text("still served?"), SendOptions::default())
        .unwrap();
    let got = normal.until(Role::Server, Goal::Message).into_message();
    assert_eq!(got.unwrap().unwrap(), Message::text("still served?"));

    // Everything charged is given back as the connections end.
    drop(attackers);
    drop(normal);
    assert_eq!(budget.used(), 0);
}

#[test]
fn without_pressure_a_large_message_goes_through_and_is_charged_only_while_held() {
    let budget = Arc::new(MemoryBudget::with_share(8 << 20, 64 * KIB));
    let mut driven = pair_sharing(&budget);
    let payload = vec![7u8; 3 << 20];
    driven
        .driver(Role::Client)
        .send(Message::binary(payload.clone()), SendOptions::default())
        .unwrap();
    let got = driven.until(Role::Server, Goal::Message).into_message();
    assert_eq!(got.unwrap().unwrap(), Message::binary(payload));
    assert_eq!(budget.refusals(), 0);
    // Waiting for the next message, the server buffers nothing.
    assert!(matches!(
        driven.drive(Role::Server, Goal::Message),
        Outcome::Waiting
    ));
    assert!(budget.used() <= 64 * KIB, "{} still charged", budget.used());
}
