//! Each of the blocking client's timeouts fires, each with its own error: connect (a TLS
//! server that never answers), handshake (an HTTP server that never answers), read (a
//! quiet peer; the connection stays usable) and write (a peer that never reads).

mod client_common;

use std::io::Read;
use std::time::{Duration, Instant};

use client_common::*;
use ropeway_mio::client::{self, ClientConfig, ClientRequest, Error, Message, Options, Timeout};
use ropeway_tokio::server::ServerConfig;

/// A server that accepts TCP and then says nothing, reading everything it gets.
fn silent_server() -> std::net::SocketAddr {
    raw_server(|mut tcp| {
        let mut sink = [0; 4096];
        while tcp.read(&mut sink).is_ok_and(|n| n > 0) {}
    })
}

#[test]
#[cfg(feature = "tls")]
fn a_tls_server_that_never_answers_is_a_connect_timeout() {
    bounded(|| {
        let addr = silent_server();
        let config = ClientConfig {
            connect_timeout: Duration::from_millis(200),
            ..ClientConfig::default()
        };
        let request =
            ClientRequest::from_url(&format!("wss://localhost:{}/", addr.port())).unwrap();
        let started = Instant::now();
        let result = client::connect_with(request, &config, Options::default());
        assert!(matches!(result, Err(Error::ConnectTimeout)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    });
}

#[test]
fn a_server_that_never_answers_the_upgrade_is_a_handshake_timeout() {
    bounded(|| {
        let addr = silent_server();
        let config = ClientConfig {
            handshake_timeout: Duration::from_millis(200),
            ..ClientConfig::default()
        };
        let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
        let result = client::connect_with(request, &config, Options::default());
        assert!(matches!(result, Err(Error::HandshakeTimeout)), "{result:?}");
    });
}

#[test]
fn a_quiet_peer_is_a_read_timeout_and_the_connection_stays_usable() {
    bounded(|| {
        let addr = echo_server(ServerConfig::default());
        let options = Options::default().read_timeout(Some(Duration::from_millis(100)));
        let mut ws = connect_to(addr, &ClientConfig::default(), options);
        let started = Instant::now();
        match ws.recv() {
            Some(Err(e)) => assert_eq!(Timeout::of(&e), Some(Timeout::Read), "{e}"),
            other => panic!("expected the read timeout, got {other:?}"),
        }
        assert!(started.elapsed() >= Duration::from_millis(100));
        // Still open: an echo goes through.
        ws.send(Message::text("still here")).unwrap();
        assert_eq!(recv(&mut ws), Message::text("still here"));
        ws.close(None).unwrap();
    });
}

#[test]
fn a_peer_that_never_reads_is_a_write_timeout() {
    bounded(|| {
        let addr = raw_server(|mut tcp| {
            accept_raw(&mut tcp);
            // Never reads again; holds the socket open until the client gives up.
            let mut byte = [0];
            std::thread::sleep(Duration::from_secs(20));
            let _ = tcp.read(&mut byte);
        });
        let options = Options::default().write_timeout(Some(Duration::from_millis(200)));
        let mut ws = connect_to(addr, &ClientConfig::default(), options);
        let chunk = Message::binary(bytes_of_len(1 << 20));
        let error = (0..256)
            .find_map(|_| ws.send(chunk.clone()).err())
            .expect("the socket buffers fill up long before 256 MiB");
        assert_eq!(Timeout::of(&error), Some(Timeout::Write), "{error}");
        // The connection has ended.
        assert!(matches!(ws.send(Message::text("late")), Err(Error::Closed)));
    });
}

#[test]
fn the_timeout_errors_are_told_apart() {
    let read = Timeout::Read.into_error();
    let write = Timeout::Write.into_error();
    assert_eq!(Timeout::of(&read), Some(Timeout::Read));
    assert_eq!(Timeout::of(&write), Some(Timeout::Write));
    assert_eq!(Timeout::of(&Error::ConnectTimeout), None);
    assert_eq!(Timeout::of(&Error::HandshakeTimeout), None);
    let other = Error::Io(std::io::Error::from(std::io::ErrorKind::TimedOut));
    assert_eq!(Timeout::of(&other), None);
}

#[test]
fn an_unanswered_close_ends_after_the_close_timeout() {
    bounded(|| {
        // Reads everything, answers nothing, keeps the TCP connection open.
        let addr = raw_server(|mut tcp| {
            accept_raw(&mut tcp);
            let mut sink = [0; 4096];
            while tcp.read(&mut sink).is_ok_and(|n| n > 0) {}
        });
        let config = ClientConfig {
            core: ropeway_mio::client::Config {
                close_timeout: Duration::from_millis(200),
                ..Default::default()
            },
            ..ClientConfig::default()
        };
        let mut ws = connect_to(addr, &config, Options::default());
        let started = Instant::now();
        ws.close(None).unwrap();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(ws.recv().is_none());
    });
}

#[test]
fn a_split_reader_sees_the_close_timeout_the_writer_started() {
    bounded(|| {
        let addr = raw_server(|mut tcp| {
            accept_raw(&mut tcp);
            let mut sink = [0; 4096];
            while tcp.read(&mut sink).is_ok_and(|n| n > 0) {}
        });
        let config = ClientConfig {
            core: ropeway_mio::client::Config {
                close_timeout: Duration::from_millis(200),
                keep_alive_interval: None,
                keep_alive_timeout: None,
                ..Default::default()
            },
            ..ClientConfig::default()
        };
        let (mut reader, writer) = connect_to(addr, &config, Options::default()).split();
        // The reader blocks with no deadline at all; the writer's close arms one.
        let receiving = std::thread::spawn(move || {
            let started = Instant::now();
            while let Some(Ok(_)) = reader.recv() {}
            started.elapsed()
        });
        std::thread::sleep(Duration::from_millis(50));
        writer.close(None).unwrap();
        let took = receiving.join().unwrap();
        assert!(took < Duration::from_secs(5), "{took:?}");
    });
}
