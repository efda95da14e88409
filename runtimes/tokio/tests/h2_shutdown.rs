//! `h2::serve`'s graceful shutdown: WebSockets over HTTP/1.1 upgrades and over HTTP/2
//! streams alike get 1001 and a clean close, `serve` returns only once they have ended, and
//! a close nobody answers is cut at the drain timeout.
#![cfg(feature = "h2")]

mod common;
mod h2_support;

use std::time::{Duration, Instant};

use common::*;
use h2_support::*;
use http::Version;
use ropeway_tokio::h2::ServeConfig;
use ropeway_tokio::{CloseCode, CloseFrame, Message, ServerConfig};

fn going_away() -> Message {
    Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "going away")))
}

#[tokio::test]
async fn shutdown_closes_http1_and_http2_websockets_with_1001_and_returns_once_they_closed() {
    bounded(async {
        let mut server = spawn_default().await;
        let client = h2_client(server.addr).await;
        let (mut over_h2, _) = client.websocket("/ws").await.unwrap();
        let mut over_h1 = connect(server.addr, "/ws").await;
        assert_echoes(&mut over_h2, &[5], "h2 before").await;
        assert_echoes(&mut over_h1, &[5], "h1 before").await;
        server.stop.take().unwrap().send(()).unwrap();
        // Neither client has read the 1001 yet, so neither close handshake is done: serve
        // must still be waiting (it used to return at once for the HTTP/1.1 one).
        let early = tokio::time::timeout(Duration::from_millis(300), &mut server.task).await;
        assert!(early.is_err(), "serve returned before the close handshakes");
        assert_eq!(recv(&mut over_h2).await, going_away());
        assert_ends_cleanly(&mut over_h2).await;
        assert_eq!(recv(&mut over_h1).await, going_away());
        assert_ends_cleanly(&mut over_h1).await;
        server.task.await.unwrap().unwrap();
        let mut versions = Vec::new();
        for _ in 0..2 {
            let (version, ended) = server.seen.recv().await.unwrap();
            // The application's recv saw the client's answer to the 1001.
            assert_eq!(ended.unwrap().map(|f| f.code), Some(CloseCode::GOING_AWAY));
            versions.push(version);
        }
        versions.sort();
        assert_eq!(versions, [Version::HTTP_11, Version::HTTP_2]);
        // The server is gone: no new stream on the old connection.
        assert!(client.websocket("/ws").await.is_err());
    })
    .await;
}

#[tokio::test]
async fn shutdown_cuts_unanswered_closes_at_the_drain_timeout() {
    bounded(async {
        let drain = Duration::from_millis(300);
        let serve_config = ServeConfig {
            drain_timeout: drain,
            ..ServeConfig::default()
        };
        let mut server = spawn_server(ServerConfig::default(), serve_config, None).await;
        let client = h2_client(server.addr).await;
        let (mut over_h2, _) = client.websocket("/ws").await.unwrap();
        let mut over_h1 = connect(server.addr, "/ws").await;
        assert_echoes(&mut over_h2, &[5], "h2 before").await;
        assert_echoes(&mut over_h1, &[5], "h1 before").await;
        // The clients never answer: they are not polled until serve has returned.
        let start = Instant::now();
        server.stop.take().unwrap().send(()).unwrap();
        server.task.await.unwrap().unwrap();
        let elapsed = start.elapsed();
        // The drain timeout, not the 5 s close timeout, ended them.
        assert!(elapsed >= drain, "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        for _ in 0..2 {
            let (_, ended) = server.seen.recv().await.unwrap();
            assert!(
                !matches!(ended, Ok(Some(_))),
                "no answer was sent: {ended:?}"
            );
        }
        // What the server sent before it gave up was its 1001.
        assert_eq!(recv(&mut over_h1).await, going_away());
        assert_eq!(recv(&mut over_h2).await, going_away());
    })
    .await;
}
