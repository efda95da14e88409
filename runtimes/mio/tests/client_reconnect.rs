//! The blocking reconnecting client over loopback: a 1012 drop and the way back, a 403 that
//! ends it, a 503's Retry-After slept out, a send while disconnected given back.

mod client_common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use client_common::*;
use ropeway_mio::client::reconnect::Stop;
use ropeway_mio::client::{
    ClientConfig, ClientRequest, CloseFrame, Disconnect, Error, Message, NotSent, Options,
    Reconnect, ReconnectPolicy, Reconnecting,
};
use ropeway_tokio::server::ServerConfig;

/// Exact, short waits: 50 ms, 100 ms, 200 ms …
fn client(addr: std::net::SocketAddr) -> Reconnecting {
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        jitter: 0.0,
        ..ReconnectPolicy::default()
    };
    let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
    Reconnecting::new(request, ClientConfig::default(), Options::default(), policy)
}

fn connected(client: &mut Reconnecting) {
    match client.recv() {
        Some(Reconnect::Connected(response)) => assert_eq!(response.status(), 101),
        other => panic!("expected Connected, got {other:?}"),
    }
}

/// A server whose first connection is closed with 1012 and whose later ones echo.
fn restarting_server() -> std::net::SocketAddr {
    let count = Arc::new(AtomicUsize::new(0));
    serve(ServerConfig::default(), move |mut ws| {
        let first = count.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            if first {
                let _ = ws.close(Some(CloseFrame::new(1012, "restart"))).await;
            } else {
                let _ = echo(ws).await;
            }
        }
    })
}

#[test]
fn a_server_restart_1012_is_reported_and_the_blocking_client_comes_back() {
    bounded(|| {
        let mut client = client(restarting_server());
        connected(&mut client);
        match client.recv() {
            Some(Reconnect::Disconnected {
                cause: Disconnect::Closed(Some(frame)),
                retry_in,
                attempt: 1,
            }) => {
                assert_eq!(frame.code.0, 1012);
                assert_eq!(retry_in, Duration::from_millis(50));
            }
            other => panic!("expected the 1012 drop, got {other:?}"),
        }
        connected(&mut client);
        client.send(Message::text("again")).unwrap();
        match client.recv() {
            Some(Reconnect::Message(message)) => assert_eq!(message, Message::text("again")),
            other => panic!("expected the echo, got {other:?}"),
        }
        client.close(None).unwrap();
        assert!(client.recv().is_none());
    });
}

#[test]
fn send_while_disconnected_gives_the_message_back_to_the_blocking_client() {
    bounded(|| {
        let mut client = client(restarting_server());
        assert!(matches!(
            client.send(Message::text("early")),
            Err(NotSent::Disconnected(m)) if m == Message::text("early")
        ));
        connected(&mut client);
        assert!(matches!(
            client.recv(),
            Some(Reconnect::Disconnected { .. })
        ));
        let kept = client
            .send(Message::text("kept"))
            .unwrap_err()
            .into_message();
        connected(&mut client);
        client.send(kept).unwrap();
        assert!(matches!(client.recv(), Some(Reconnect::Message(m)) if m == Message::text("kept")));
    });
}

#[test]
fn a_403_stops_the_blocking_client_without_a_retry() {
    bounded(|| {
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let addr = raw_server(move |mut tcp| {
            seen.fetch_add(1, Ordering::SeqCst);
            read_head(&mut tcp);
            let _ = tcp.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        });
        let mut client = client(addr);
        match client.recv() {
            Some(Reconnect::Stopped {
                cause: Disconnect::Failed(Error::Handshake(e)),
                stop: Stop::Fatal,
            }) => assert!(e.to_string().contains("403"), "{e}"),
            other => panic!("expected to stop on the 403, got {other:?}"),
        }
        assert!(client.recv().is_none());
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "a fatal answer is not retried"
        );
    });
}

#[test]
fn a_503_retry_after_is_slept_out_by_the_blocking_client() {
    bounded(|| {
        let count = Arc::new(AtomicUsize::new(0));
        let addr = raw_server(move |mut tcp| {
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                read_head(&mut tcp);
                let _ = tcp.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
                );
            } else {
                accept_raw(&mut tcp);
                let _ = tcp.read_to_end(&mut Vec::new());
            }
        });
        let mut client = client(addr);
        // Before the 503 is asked for: the wait cannot look short by the time between the
        // schedule's decision and this reading of the clock.
        let before = Instant::now();
        match client.recv() {
            Some(Reconnect::Disconnected { retry_in, .. }) => {
                assert_eq!(retry_in, Duration::from_secs(1))
            }
            other => panic!("expected the 503, got {other:?}"),
        }
        connected(&mut client);
        assert!(
            before.elapsed() >= Duration::from_secs(1),
            "{:?}",
            before.elapsed()
        );
    });
}
