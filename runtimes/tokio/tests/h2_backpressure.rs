//! Backpressure over HTTP/2: a WebSocket whose peer does not read stops at the stream's
//! flow-control window and its own output limit, in both directions, while the other
//! WebSockets on the same connection keep flowing; once the peer reads, everything accepted
//! arrives intact and in order.
#![cfg(feature = "h2")]

mod common;
mod h2_support;

use std::time::Duration;

use common::*;
use h2_support::*;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use ropeway_tokio::h2::{ServeConfig, serve};
use ropeway_tokio::{Message, ServerConfig};
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

const MSG: usize = 64 << 10;
const MAX_QUEUED: usize = 256 << 10;
const BLOCKED_AFTER: Duration = Duration::from_millis(500);
/// Far more than the stream window (256 KiB), hyper's per-stream buffer (a few writes) and
/// the output limit together: a sender accepting this much is buffering without bound.
const UNBOUNDED: usize = 8 << 20;

fn numbered(seq: u32) -> Message {
    let mut bytes = bytes_of_len(MSG);
    bytes[..4].copy_from_slice(&seq.to_be_bytes());
    Message::binary(bytes)
}

fn ws_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.core.limits.max_queued_output = MAX_QUEUED;
    config
}

/// `/flood`: sends numbered messages until three sends in a row wait (the client is not
/// reading), checking the queued output stays under its limit, reports what completed,
/// then sends "end" and closes. `/ws`: echoes.
async fn handle(
    mut request: http::Request<Incoming>,
    completed: mpsc::UnboundedSender<Vec<u32>>,
) -> http::Response<Full<Bytes>> {
    let flood = request.uri().path() == "/flood";
    let (response, pending) =
        ropeway_tokio::hyper::upgrade::<_, Full<Bytes>>(&mut request, &ws_config()).unwrap();
    tokio::spawn(async move {
        let mut ws = pending.await.unwrap();
        if !flood {
            let _ = echo(ws).await;
            return;
        }
        let bound = MAX_QUEUED + MSG + 14;
        let mut done = Vec::new();
        let mut blocked = 0;
        for seq in 0.. {
            match timeout(BLOCKED_AFTER, ws.send(numbered(seq))).await {
                Ok(result) => {
                    result.unwrap();
                    done.push(seq);
                    assert!(done.len() * MSG < UNBOUNDED, "send never blocked");
                }
                Err(_) => blocked += 1,
            }
            let queued = ws.connection().queued_output();
            assert!(queued <= bound, "{queued} bytes queued, over {bound}");
            if blocked == 3 {
                break;
            }
        }
        completed.send(done).unwrap();
        ws.send(Message::text("end")).await.unwrap();
        ws.close(None).await.unwrap();
        while ws.recv().await.is_some() {}
    });
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_reading_websocket_holds_its_limit_and_other_streams_keep_flowing() {
    bounded(async {
        let (listener, addr) = listen().await;
        let (completed_tx, mut completed_rx) = mpsc::unbounded_channel();
        let handler = move |request| handle(request, completed_tx.clone());
        tokio::spawn(serve(
            listener,
            None,
            ServeConfig::default(),
            handler,
            std::future::pending(),
        ));
        let client = h2_client(addr).await;
        // The flooded WebSocket: its client does not read until the server is blocked.
        let (mut flooded, _) = client.websocket("/flood").await.unwrap();
        let (mut other, _) = client.websocket("/ws").await.unwrap();
        let completed = completed_rx.recv().await.unwrap();
        assert!(
            completed.len() * MSG < UNBOUNDED,
            "{} messages accepted",
            completed.len()
        );
        // Meanwhile, another WebSocket on the same connection echoes 1 MiB without delay.
        for i in 0..16u32 {
            let m = numbered(1000 + i);
            other.send(m.clone()).await.unwrap();
            assert!(recv(&mut other).await == m, "echo {i} changed");
        }
        // The flooded client reads: everything accepted arrives, in order, intact.
        let expected = bytes_of_len(MSG);
        let mut seqs = Vec::new();
        loop {
            match recv(&mut flooded).await {
                Message::Binary(b) => {
                    assert_eq!(b[4..], expected[4..]);
                    seqs.push(u32::from_be_bytes(b[..4].try_into().unwrap()));
                }
                Message::Text(t) => {
                    assert_eq!(&*t, "end");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "out of order");
        for seq in &completed {
            assert!(seqs.contains(seq), "completed send {seq} never arrived");
        }
        assert!(matches!(recv(&mut flooded).await, Message::Close(_)));
        assert_ends_cleanly(&mut flooded).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_to_a_server_that_does_not_read_waits_at_the_stream_window() {
    bounded(async {
        // A server WebSocket that reads nothing until told to.
        let (listener, addr) = listen().await;
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let go_rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(go_rx)));
        let (count_tx, mut count_rx) = mpsc::unbounded_channel::<usize>();
        let handler = move |mut request: http::Request<Incoming>| {
            let go_rx = go_rx.clone();
            let count_tx = count_tx.clone();
            async move {
                let (response, pending) =
                    ropeway_tokio::hyper::upgrade::<_, Full<Bytes>>(&mut request, &ws_config())
                        .unwrap();
                tokio::spawn(async move {
                    let mut ws = pending.await.unwrap();
                    let go = go_rx.lock().await.take();
                    if let Some(go) = go {
                        let _ = go.await;
                    }
                    let mut n = 0;
                    while let Some(Ok(m)) = ws.recv().await {
                        if m.is_data() {
                            n += 1;
                        }
                    }
                    count_tx.send(n).unwrap();
                });
                response
            }
        };
        tokio::spawn(serve(
            listener,
            None,
            ServeConfig::default(),
            handler,
            std::future::pending(),
        ));
        let client = h2_client(addr).await;
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        let mut sent = 0;
        let mut blocked = 0;
        while blocked < 3 {
            match timeout(BLOCKED_AFTER, ws.send(numbered(sent as u32))).await {
                Ok(r) => {
                    r.unwrap();
                    sent += 1;
                    assert!(sent * MSG < UNBOUNDED, "the client's send never blocked");
                }
                Err(_) => blocked += 1,
            }
            let queued = ws.connection().queued_output();
            assert!(queued <= (1 << 20) + MSG + 14, "{queued} bytes queued");
        }
        go_tx.send(()).unwrap();
        ws.close(None).await.unwrap();
        while ws.recv().await.is_some() {}
        let received = count_rx.recv().await.unwrap();
        assert!(received >= sent, "server got {received} of {sent}");
    })
    .await;
}

/// A message far larger than the output limit, sent to a peer that does not read: hyper's
/// HTTP/2 stream copies each write whole into its own channel and reports it written, so
/// without `UpgradedIo` cutting writes to 64 KiB a 4 MiB send "completed" at once and two of
/// them sat in hyper (8 MiB past a 256 KiB limit). Now no such send completes: the message
/// waits in the driver's queue, bounded by the output limit's accounting, and hyper holds
/// at most a couple of 64 KiB pieces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_message_to_a_non_reading_peer_is_not_parked_whole_in_hyper() {
    const BIG: usize = 4 << 20;
    bounded(async {
        let (listener, addr) = listen().await;
        let (completed_tx, mut completed_rx) = mpsc::unbounded_channel();
        let handler = move |mut request: http::Request<Incoming>| {
            let completed = completed_tx.clone();
            async move {
                let (response, pending) =
                    ropeway_tokio::hyper::upgrade::<_, Full<Bytes>>(&mut request, &ws_config())
                        .unwrap();
                tokio::spawn(async move {
                    let mut ws = pending.await.unwrap();
                    let mut done = 0usize;
                    for _ in 0..3 {
                        let big = Message::binary(bytes_of_len(BIG));
                        match timeout(BLOCKED_AFTER * 2, ws.send(big)).await {
                            Ok(result) => {
                                result.unwrap();
                                done += 1;
                            }
                            Err(_) => break,
                        }
                    }
                    completed.send(done).unwrap();
                });
                response
            }
        };
        tokio::spawn(serve(
            listener,
            None,
            ServeConfig::default(),
            handler,
            std::future::pending(),
        ));
        let client = h2_client(addr).await;
        let (_not_reading, _) = client.websocket("/big").await.unwrap();
        let completed = completed_rx.recv().await.unwrap();
        assert_eq!(
            completed, 0,
            "{completed} sends of 4 MiB completed to a peer that reads nothing (stream window \
             256 KiB, output limit 256 KiB)"
        );
    })
    .await;
}
