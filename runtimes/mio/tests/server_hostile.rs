//! Hostile peers against the event loop: a slow reader, a peer that floods and never reads,
//! 1,000 stalled handshakes, resets in the middle of a frame. The loop keeps serving
//! everyone else, memory stays bounded, nothing panics.

mod server_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use ropeway_core::{Config as CoreConfig, Limits, ServerConfig};
use ropeway_mio::client;
use ropeway_mio::server::{Closed, Config, ConnId, Context, Decision, Handler, Incoming};
use ropeway_mio::{Bytes, Message};
use server_support::{TestServer, client_frame, raw, read_head, upgrade_request};

/// Echoes, recording the largest output ever queued on a connection and every end.
#[derive(Clone)]
struct Watched {
    max_queued: Arc<AtomicUsize>,
    ended: Sender<Closed>,
}

impl Handler for Watched {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        let _ = cx.send(id, message);
        if let Some(queued) = cx.queued_output(id) {
            self.max_queued.fetch_max(queued, Ordering::Relaxed);
        }
    }

    fn on_close(&mut self, _: &mut Context<'_>, _: ConnId, _: (), closed: Closed) {
        let _ = self.ended.send(closed);
    }
}

const LIMIT: usize = 256 << 10;

fn config() -> Config {
    Config {
        websocket: ServerConfig {
            core: CoreConfig {
                limits: Limits {
                    max_queued_output: LIMIT,
                    ..Limits::default()
                },
                ..CoreConfig::default()
            },
            handshake_timeout: Duration::from_secs(2),
            ..ServerConfig::default()
        },
        ..Config::default()
    }
}

fn start() -> (
    TestServer,
    Arc<AtomicUsize>,
    std::sync::mpsc::Receiver<Closed>,
) {
    let max_queued = Arc::new(AtomicUsize::new(0));
    let (ended, rx) = channel();
    let handler = Watched {
        max_queued: max_queued.clone(),
        ended,
    };
    (TestServer::start(config(), handler), max_queued, rx)
}

/// An echo round trip by a well-behaved client, within a few seconds.
fn served(server: &TestServer) {
    let started = Instant::now();
    let (mut ws, _) = client::connect(&server.url("/ws")).expect("connect");
    for i in 0..20 {
        ws.send(Message::text(format!("{i}"))).expect("send");
        assert_eq!(
            ws.recv().expect("echo").expect("ok"),
            Message::text(format!("{i}"))
        );
    }
    ws.close(None).expect("close");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

fn upgraded(server: &TestServer) -> TcpStream {
    let mut tcp = raw(server.addr);
    tcp.write_all(upgrade_request("/ws", "").as_bytes())
        .expect("write");
    assert!(read_head(&mut tcp).starts_with("HTTP/1.1 101"));
    tcp
}

#[test]
fn a_peer_that_floods_and_never_reads_stays_within_the_output_limit() {
    let (server, max_queued, _ended) = start();
    let mut flood = upgraded(&server);
    flood
        .set_write_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let frame = client_frame(0x2, true, &[1u8; 32 << 10]);
    // Send until TCP pushes back (the server stopped reading: its output is at the limit),
    // bounded at 64 MiB.
    let mut sent = 0usize;
    while sent < 64 << 20 {
        match flood.write_all(&frame) {
            Ok(()) => sent += frame.len(),
            Err(_) => break,
        }
    }
    assert!(sent < 64 << 20, "the server never pushed back");
    // Everyone else is still served.
    served(&server);
    let max = max_queued.load(Ordering::Relaxed);
    assert!(
        max <= LIMIT + (32 << 10) + 64,
        "queued output reached {max}"
    );
    assert!(max > LIMIT / 2, "the flood never filled the output ({max})");
}

#[test]
fn a_slow_reader_gets_everything_while_others_are_served() {
    let (server, _, _ended) = start();
    let (slow, _) = client::connect(&server.url("/ws")).expect("connect");
    let payload = Bytes::from(vec![9u8; 64 << 10]);
    let (writer_done, done) = channel();
    let (mut reader, writer) = slow.split();
    let sender = std::thread::spawn(move || {
        for _ in 0..40 {
            writer.send(Message::Binary(payload.clone())).expect("send");
        }
        let _ = writer_done.send(writer);
    });
    let mut got = 0;
    while got < 40 {
        std::thread::sleep(Duration::from_millis(20));
        match reader.recv() {
            Some(Ok(Message::Binary(bytes))) => {
                assert_eq!(bytes.len(), 64 << 10);
                got += 1;
                if got == 5 {
                    served(&server);
                }
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    sender.join().expect("the sender");
    let _ = done.recv();
}

#[test]
fn a_thousand_stalled_handshakes_time_out_while_others_are_served() {
    let (server, _, _ended) = start();
    let stalled: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let mut tcp = TcpStream::connect(server.addr).expect("connect");
            tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
                .expect("write");
            tcp
        })
        .collect();
    served(&server);
    // Within the 2 s handshake timeout (and some slack), every stalled one is dropped.
    let started = Instant::now();
    for mut tcp in stalled {
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut byte = [0u8; 1];
        match tcp.read(&mut byte) {
            Ok(0) => {}
            Ok(_) => panic!("the stalled handshake got an answer"),
            Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "not dropped"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    served(&server);
}

#[test]
fn resets_in_the_middle_of_a_frame_end_those_connections_only() {
    let (server, _, ended) = start();
    for _ in 0..50 {
        let mut tcp = raw(server.addr);
        let mut bytes = upgrade_request("/ws", "").into_bytes();
        let frame = client_frame(0x2, true, &[3u8; 1000]);
        bytes.extend_from_slice(&frame[..500]);
        tcp.write_all(&bytes).expect("write");
        // The 101 arrives and is never read: closing now sends a reset.
        std::thread::sleep(Duration::from_millis(5));
        drop(tcp);
    }
    served(&server);
    let mut errors = 0;
    while let Ok(closed) = ended.recv_timeout(Duration::from_secs(5)) {
        if closed.error.is_some() {
            errors += 1;
        }
        if errors == 50 {
            break;
        }
    }
    assert_eq!(errors, 50);
}

/// 100 peers that each announce a 1 MiB frame, send 256 KiB of it and go quiet stay within
/// a server-wide memory budget (plus a share each): the ones past it are closed with 1013,
/// and a normal client is served meanwhile (issue #21, item 4).
#[test]
fn a_hundred_quiet_peers_with_half_frames_stay_within_the_memory_budget() {
    use ropeway_core::budget::MemoryBudget;
    const PEERS: usize = 100;
    const FRAME: usize = 1 << 20;
    let (limit, share) = (8 << 20, 64 << 10);
    let budget = Arc::new(MemoryBudget::with_share(limit, share));
    let config = Config {
        websocket: ServerConfig {
            memory_budget: Some(budget.clone()),
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let server = TestServer::start(config, server_support::Echo);
    let addr = server.addr;
    let peers = std::thread::spawn(move || {
        let mut frame = client_frame(0x2, true, &vec![0x5a; FRAME]);
        frame.truncate(frame.len() - (FRAME - (256 << 10)));
        (0..PEERS)
            .map(|_| {
                let mut tcp = raw(addr);
                tcp.write_all(upgrade_request("/ws", "").as_bytes())
                    .expect("upgrade");
                assert!(read_head(&mut tcp).starts_with("HTTP/1.1 101"));
                // A refused peer is closed under its write: that is the point.
                let _ = tcp.write_all(&frame);
                tcp
            })
            .collect::<Vec<_>>()
    });
    let (mut ws, _) = client::connect(&server.url("/ws")).expect("connect");
    for i in 0..20 {
        let text = format!("echo {i}");
        ws.send(Message::text(text.clone())).expect("send");
        assert_eq!(ws.recv().expect("echo").expect("ok"), Message::text(text));
    }
    let peers = peers.join().expect("peers");
    let expected_refusals = (PEERS - limit / FRAME) as u64;
    let until = Instant::now() + Duration::from_secs(3);
    while budget.refusals() < expected_refusals && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let used = budget.used();
    assert!(
        used <= limit + PEERS * share,
        "{PEERS} quiet peers hold {used} bytes under a {limit}-byte budget"
    );
    assert!(
        budget.refusals() >= expected_refusals,
        "{} of {PEERS} refused ({used} bytes held)",
        budget.refusals()
    );
    ws.send(Message::text("after")).expect("send");
    assert_eq!(
        ws.recv().expect("echo").expect("ok"),
        Message::text("after")
    );
    drop(peers);
}
