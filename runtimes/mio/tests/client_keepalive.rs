//! Keep-alive with the blocking client: a server's pings are answered while the application
//! is blocked in `recv`, and the client's own pings find a peer that stopped answering.

mod client_common;

use std::io::Read;
use std::time::Duration;

use client_common::*;
use ropeway_mio::client::{ClientConfig, Config, ConnectionError, Error, Message, Options};
use ropeway_tokio::server::ServerConfig;

#[test]
fn server_pings_are_answered_while_the_application_is_blocked_in_recv() {
    bounded(|| {
        // The server pings every 30 ms and ends the connection if an answer takes 200 ms; it
        // says something only after a second.
        let config = ServerConfig {
            core: Config {
                keep_alive_interval: Some(Duration::from_millis(30)),
                keep_alive_timeout: Some(Duration::from_millis(200)),
                ..Config::default()
            },
            ..ServerConfig::default()
        };
        let addr = serve(config, |mut ws| async move {
            let quiet = tokio::time::sleep(Duration::from_secs(1));
            tokio::pin!(quiet);
            loop {
                tokio::select! {
                    _ = &mut quiet => break,
                    message = ws.recv() => match message {
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                }
            }
            let _ = ws.send(Message::text("still here")).await;
        });
        let mut ws = connect(addr);
        // Blocked here for a second; the server's pings get their pongs meanwhile (each ping
        // is handed out after its pong is written).
        let mut pings = 0;
        loop {
            match recv(&mut ws) {
                Message::Ping(_) => pings += 1,
                message => {
                    assert_eq!(message, Message::text("still here"));
                    break;
                }
            }
        }
        assert!(pings >= 3, "only {pings} pings in a second at 30 ms");
    });
}

#[test]
fn the_client_pings_and_finds_a_peer_that_stopped_answering() {
    bounded(|| {
        let (pinged_tx, pinged) = std::sync::mpsc::channel();
        let addr = raw_server(move |mut tcp| {
            accept_raw(&mut tcp);
            // Reads (and never answers) whatever comes: the first byte of a ping is 0x89.
            let mut buf = [0; 256];
            while let Ok(n) = tcp.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if buf[0] == 0x89 {
                    let _ = pinged_tx.send(());
                }
            }
        });
        let config = ClientConfig {
            core: Config {
                keep_alive_interval: Some(Duration::from_millis(50)),
                keep_alive_timeout: Some(Duration::from_millis(150)),
                ..Config::default()
            },
            ..ClientConfig::default()
        };
        let mut ws = connect_to(addr, &config, Options::default());
        match ws.recv() {
            Some(Err(Error::Connection(ConnectionError::KeepAliveTimeout))) => {}
            other => panic!("expected the keep-alive timeout, got {other:?}"),
        }
        pinged
            .recv_timeout(Duration::from_secs(5))
            .expect("the server saw a ping");
        assert!(ws.recv().is_none());
    });
}
