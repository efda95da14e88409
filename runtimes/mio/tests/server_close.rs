//! Close handshakes, protocol errors and keep-alive on the event-loop server: what the
//! handler's `on_close` sees and what the peer gets.

mod server_support;

use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use ropeway_core::{Config as CoreConfig, Limits, ServerConfig};
use ropeway_mio::client;
use ropeway_mio::server::{Closed, Config, ConnId, Context, Decision, Handler, Incoming};
use ropeway_mio::{CloseFrame, Message};
use server_support::{TestServer, client_frame, raw, read_head, upgrade_request};

/// Echoes; reports every connection's end; closes on the text "close me".
#[derive(Clone)]
struct Reporting {
    ended: Sender<Closed>,
}

impl Handler for Reporting {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        if message.as_text() == Some("close me") {
            let _ = cx.close(id, Some(CloseFrame::new(4000, "bye")));
            return;
        }
        let _ = cx.send(id, message);
    }

    fn on_close(&mut self, _: &mut Context<'_>, _: ConnId, _: (), closed: Closed) {
        let _ = self.ended.send(closed);
    }
}

fn start(config: Config) -> (TestServer, Receiver<Closed>) {
    let (ended, rx) = channel();
    (TestServer::start(config, Reporting { ended }), rx)
}

fn next_end(rx: &Receiver<Closed>) -> Closed {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("on_close within 10 s")
}

/// A raw, upgraded connection.
fn raw_ws(server: &TestServer) -> std::net::TcpStream {
    let mut tcp = raw(server.addr);
    tcp.write_all(upgrade_request("/ws", "").as_bytes())
        .expect("write");
    assert!(read_head(&mut tcp).starts_with("HTTP/1.1 101"));
    tcp
}

#[test]
fn a_client_close_is_echoed_and_the_handler_sees_its_code_and_reason() {
    let (server, ended) = start(Config::default());
    let (mut ws, _) = client::connect(&server.url("/ws")).expect("connect");
    ws.close(Some(CloseFrame::new(4001, "done")))
        .expect("close");
    let closed = next_end(&ended);
    assert!(closed.error.is_none(), "{closed:?}");
    let frame = closed.frame.expect("the client's frame");
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (4001, "done")
    );
}

#[test]
fn a_server_close_is_answered_by_the_client() {
    let (server, ended) = start(Config::default());
    let (mut ws, _) = client::connect(&server.url("/ws")).expect("connect");
    ws.send(Message::text("close me")).expect("send");
    match ws.recv() {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4000),
        other => panic!("expected the server's close, got {other:?}"),
    }
    assert!(ws.recv().is_none());
    let closed = next_end(&ended);
    assert!(closed.error.is_none(), "{closed:?}");
}

#[test]
fn a_client_that_vanishes_is_an_abnormal_closure() {
    let (server, ended) = start(Config::default());
    drop(raw_ws(&server));
    let closed = next_end(&ended);
    assert!(closed.error.is_some(), "{closed:?}");
}

#[test]
fn an_unmasked_frame_fails_the_connection_with_1002() {
    let (server, ended) = start(Config::default());
    let mut tcp = raw_ws(&server);
    tcp.write_all(&[0x81, 0x02, b'h', b'i']).expect("write");
    let mut answer = [0u8; 4];
    tcp.read_exact(&mut answer).expect("a close frame");
    assert_eq!(answer[0], 0x88);
    assert_eq!(u16::from_be_bytes([answer[2], answer[3]]), 1002);
    // The server drains until the peer's end (or the close timeout): end it now.
    drop(tcp);
    assert!(next_end(&ended).error.is_some());
}

#[test]
fn invalid_utf8_in_a_text_message_fails_with_1007() {
    let (server, _ended) = start(Config::default());
    let mut tcp = raw_ws(&server);
    tcp.write_all(&client_frame(0x1, true, &[0xff, 0xfe]))
        .expect("write");
    let mut answer = [0u8; 4];
    tcp.read_exact(&mut answer).expect("a close frame");
    assert_eq!(u16::from_be_bytes([answer[2], answer[3]]), 1007);
}

#[test]
fn a_message_over_the_limit_is_refused_with_1009() {
    let config = Config {
        websocket: ServerConfig {
            core: CoreConfig {
                limits: Limits {
                    max_message_size: 1000,
                    ..Limits::default()
                },
                ..CoreConfig::default()
            },
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let (server, _ended) = start(config);
    let mut tcp = raw_ws(&server);
    tcp.write_all(&client_frame(0x2, true, &[0; 2000]))
        .expect("write");
    let mut answer = [0u8; 4];
    tcp.read_exact(&mut answer).expect("a close frame");
    assert_eq!(u16::from_be_bytes([answer[2], answer[3]]), 1009);
}

#[test]
fn an_unanswered_server_close_ends_after_the_close_timeout() {
    let config = Config {
        websocket: ServerConfig {
            core: CoreConfig {
                close_timeout: Duration::from_millis(300),
                ..CoreConfig::default()
            },
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let (server, ended) = start(config);
    let mut tcp = raw_ws(&server);
    tcp.write_all(&client_frame(0x1, true, b"close me"))
        .expect("write");
    let started = Instant::now();
    // The raw peer reads the close frame but never answers it.
    let closed = next_end(&ended);
    assert!(started.elapsed() < Duration::from_secs(5));
    let _ = closed;
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest);
    assert_eq!(rest[0], 0x88);
}

#[test]
fn an_idle_connection_is_pinged_and_a_dead_peer_is_dropped() {
    let config = Config {
        websocket: ServerConfig {
            core: CoreConfig {
                keep_alive_interval: Some(Duration::from_millis(200)),
                keep_alive_timeout: Some(Duration::from_millis(200)),
                ..CoreConfig::default()
            },
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let (server, ended) = start(config);
    let mut tcp = raw_ws(&server);
    let started = Instant::now();
    // A ping arrives at the interval; the peer never answers, so the connection is dropped
    // after interval + timeout as a dead peer.
    let mut ping = [0u8; 2];
    tcp.read_exact(&mut ping).expect("a ping");
    assert_eq!(ping[0], 0x89);
    let closed = next_end(&ended);
    assert!(closed.error.is_some(), "{closed:?}");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn a_client_that_answers_pings_stays_connected() {
    let config = Config {
        websocket: ServerConfig {
            core: CoreConfig {
                keep_alive_interval: Some(Duration::from_millis(100)),
                keep_alive_timeout: Some(Duration::from_millis(1000)),
                ..CoreConfig::default()
            },
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let (server, ended) = start(config);
    let (mut ws, _) = client::connect(&server.url("/ws")).expect("connect");
    // The client answers pings while it waits in recv; a second later it is still open.
    let options_deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < options_deadline {
        ws.send(Message::text("still here")).expect("send");
        // Pings arrive as messages too (already answered).
        let echo = loop {
            match ws.recv().expect("echo").expect("ok") {
                Message::Ping(_) | Message::Pong(_) => continue,
                message => break message,
            }
        };
        assert_eq!(echo, Message::text("still here"));
        // Quiet for longer than the interval (pings come) but within the timeout.
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(ended.try_recv().is_err(), "the connection ended");
}

#[test]
fn bytes_and_the_end_of_stream_arriving_together_are_both_seen() {
    // Guards the loop's short-read shortcut: a read that comes back short is taken as having
    // emptied the socket, except when the end of stream came with the same readiness event.
    let (server, ended) = start(Config::default());
    for _ in 0..20 {
        let mut tcp = raw_ws(&server);
        let mut bytes = client_frame(0x1, true, b"last words");
        bytes.extend(client_frame(0x1, true, b"and more"));
        tcp.write_all(&bytes).expect("write");
        tcp.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let mut echoed = Vec::new();
        let _ = tcp.read_to_end(&mut echoed);
        assert!(
            echoed.starts_with(b"\x81\x0alast words\x81\x08and more"),
            "{echoed:?}"
        );
        // Well before any timeout: the end of stream was not missed.
        let closed = rx_within(&ended, Duration::from_secs(2));
        assert!(closed.error.is_some(), "{closed:?}");
    }
}

fn rx_within(rx: &Receiver<Closed>, limit: Duration) -> Closed {
    rx.recv_timeout(limit).expect("on_close in time")
}
