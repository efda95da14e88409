//! A server-wide memory budget (issue #21, item 4): per-connection limits multiply (20 peers
//! that each send half of a 16 MiB frame and go quiet held 301 MiB), a budget shared by the
//! server's connections does not. 100 such peers stay within the budget (plus a share each),
//! those past it get 1013, and a normal client is served meanwhile.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::prelude::*;
use ropeway_core::budget::MemoryBudget;
use ropeway_core::{Message, ServerConfig};

const KIB: usize = 1 << 10;

/// Quiet peers.
const PEERS: usize = 100;

/// Each announces a frame this large and sends [`SENT`] of it, then goes quiet.
const FRAME: usize = 1 << 20;
const SENT: usize = 256 * KIB;

/// Opens `/ws` from a plain socket, sends part of a large masked frame and keeps the socket
/// open (quiet), reading nothing.
fn quiet_peer(addr: SocketAddr) -> Option<TcpStream> {
    let mut tcp = TcpStream::connect(addr).ok()?;
    tcp.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    tcp.write_all(upgrade_request("/ws", "").as_bytes()).ok()?;
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).ok()?;
        head.push(byte[0]);
    }
    let mut whole = client_frame(op::BINARY, true, &vec![0x5a; FRAME]);
    whole.truncate(whole.len() - (FRAME - SENT));
    // A refused peer is closed under its write: that is the point, not a failure.
    let _ = tcp.write_all(&whole);
    Some(tcp)
}

pub async fn a_hundred_quiet_peers_with_half_frames_stay_within_the_memory_budget<
    T: TestRuntime,
>() {
    let (limit, share) = (8 << 20, 64 * KIB);
    let budget = Arc::new(MemoryBudget::with_share(limit, share));
    let config = ServerConfig {
        memory_budget: Some(budget.clone()),
        ..ServerConfig::default()
    };
    let addr = spawn_echo_server::<T>(config).await;
    let peers = thread::spawn(move || {
        (0..PEERS)
            .filter_map(|_| quiet_peer(addr))
            .collect::<Vec<_>>()
    });
    // A normal client echoes while the peers come.
    let mut ws = connect::<T>(addr, "/").await;
    for i in 0..20 {
        let text = format!("echo {i}");
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(recv(&mut ws).await, Message::text(text));
    }
    let peers = peers.join().expect("peers");
    // Let the server read what the peers sent.
    let settled = Instant::now() + Duration::from_secs(3);
    let expected_refusals = (PEERS - limit / FRAME) as u64;
    while budget.refusals() < expected_refusals && Instant::now() < settled {
        T::sleep(Duration::from_millis(20)).await;
    }
    let used = budget.used();
    assert!(
        used <= limit + PEERS * share,
        "{} quiet peers hold {used} bytes under a {limit}-byte budget",
        peers.len()
    );
    assert!(
        budget.refusals() >= expected_refusals,
        "{} of {PEERS} refused ({used} bytes held)",
        budget.refusals()
    );
    // Still served after the attack.
    ws.send(Message::text("after")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("after"));
    drop(peers);
}
