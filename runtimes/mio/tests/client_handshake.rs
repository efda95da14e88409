//! The blocking client's opening handshake against servers that refuse, answer wrongly, or
//! answer right with the first frames in the same packet.

mod client_common;

use std::io::Write;
use std::net::TcpListener;

use client_common::*;
use ropeway_mio::client::{self, Error, Message};

#[test]
fn a_refused_connection_is_an_io_error() {
    bounded(|| {
        // A port that was just free and is closed again.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let result = client::connect(&format!("ws://127.0.0.1:{port}/"));
        assert!(
            matches!(&result, Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{result:?}"
        );
    });
}

#[test]
fn a_404_answer_is_a_handshake_error() {
    bounded(|| {
        let addr = raw_server(|mut tcp| {
            read_head(&mut tcp);
            let _ = tcp.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        });
        let result = client::connect(&ws_url(addr, "/nowhere"));
        assert!(matches!(result, Err(Error::Handshake(_))), "{result:?}");
    });
}

#[test]
fn a_wrong_accept_key_is_a_handshake_error() {
    bounded(|| {
        let addr = raw_server(|mut tcp| {
            read_head(&mut tcp);
            let _ = tcp.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n",
            );
        });
        let result = client::connect(&ws_url(addr, "/"));
        assert!(matches!(result, Err(Error::Handshake(_))), "{result:?}");
    });
}

#[test]
fn a_server_that_hangs_up_during_the_handshake_is_an_io_error() {
    bounded(|| {
        let addr = raw_server(|mut tcp| {
            read_head(&mut tcp);
        });
        let result = client::connect(&ws_url(addr, "/"));
        assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
    });
}

#[test]
fn a_url_that_is_not_websocket_is_refused_before_connecting() {
    let result = client::connect("ftp://127.0.0.1:1/");
    assert!(matches!(result, Err(Error::Handshake(_))), "{result:?}");
}

#[test]
fn frames_in_the_same_packet_as_the_101_are_received() {
    bounded(|| {
        let addr = raw_server(|mut tcp| {
            // The 101 and a first frame, written at once.
            let head = read_head(&mut tcp);
            let key = head
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .or_else(|| {
                    head.lines()
                        .find_map(|l| l.strip_prefix("sec-websocket-key: "))
                })
                .unwrap()
                .trim()
                .to_owned();
            let accept = ropeway_core::handshake::accept_key(key.as_bytes());
            let mut packet = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            packet.extend(server_frame(0x1, true, b"right after the 101"));
            tcp.write_all(&packet).unwrap();
            std::thread::sleep(std::time::Duration::from_secs(2));
        });
        let mut ws = connect(addr);
        assert_eq!(recv(&mut ws), Message::text("right after the 101"));
    });
}

/// The opening handshake over a TCP stream the application opened itself.
#[test]
fn handshake_runs_over_a_tcp_stream_the_application_opened() {
    bounded(|| {
        let addr = echo_server(ropeway_tokio::server::ServerConfig::default());
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let request = ropeway_mio::client::ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
        let (mut ws, response) = ropeway_mio::client::handshake(
            tcp,
            &request,
            &ropeway_mio::client::ClientConfig::default(),
            ropeway_mio::client::Options::default(),
        )
        .unwrap();
        assert_eq!(response.status(), 101);
        assert_echoes(&mut ws, &[0, 125, 126, 65536]);
        ws.close(None).unwrap();
        assert!(ws.recv().is_none());
    });
}
