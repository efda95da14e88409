//! Keep-alive over real sockets with short real intervals: pings on an idle connection, no
//! pings while the peer talks, and a dead peer detected within interval + timeout.
//!
//! The default settings (120 s + 30 s) run here with the same ratio scaled down to real
//! milliseconds, which every runtime can do; at full length they need a virtual clock, so
//! those two cases stay in ropeway-tokio's `tests/keepalive_virtual_time.rs`.

use std::time::{Duration, Instant};

use crate::prelude::*;
use futures_lite::future;
use ropeway_async::{Io, WebSocket};
use ropeway_common::ClientConfig;
use ropeway_core::handshake::ClientRequest;
use ropeway_core::{ConnectionError, Error, Message, ServerConfig};

const INTERVAL: Duration = Duration::from_millis(200);

/// A server config with keep-alive every [`INTERVAL`] and the given pong timeout.
fn keep_alive_server(timeout: Option<Duration>) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.core.keep_alive_interval = Some(INTERVAL);
    config.core.keep_alive_timeout = timeout;
    config
}

/// A client that sends no keep-alive pings of its own.
async fn quiet_client<T: TestRuntime>(addr: std::net::SocketAddr) -> ClientWs<T> {
    let mut config = ClientConfig::default();
    config.core.keep_alive_interval = None;
    let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
    T::connect_with(request, &config).await.unwrap().0
}

/// Receives `n` pings on an otherwise idle connection and returns when each arrived,
/// counted from `start`.
async fn ping_times<S: Unpin, R: Io<S>>(
    ws: &mut WebSocket<S, R>,
    n: usize,
    start: Instant,
) -> Vec<Duration> {
    let mut times = Vec::new();
    while times.len() < n {
        match recv(ws).await {
            Message::Ping(payload) => {
                assert!(payload.is_empty());
                times.push(start.elapsed());
            }
            other => panic!("only pings expected on an idle connection, got {other:?}"),
        }
    }
    times
}

pub async fn an_idle_connection_receives_pings_at_the_interval<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(keep_alive_server(None)).await;
    let start = Instant::now();
    let mut ws = quiet_client::<T>(addr).await;
    let times = ping_times(&mut ws, 4, start).await;
    assert!(
        times[0] >= INTERVAL - Duration::from_millis(20),
        "{times:?}"
    );
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= INTERVAL - Duration::from_millis(20), "{times:?}");
        assert!(gap < INTERVAL * 3, "pings too far apart: {times:?}");
    }
    // The connection still works.
    ws.send(Message::text("awake")).await.unwrap();
    assert_eq!(recv_data(&mut ws).await, Message::text("awake"));
}

/// The default settings' ratio (a pong within a quarter of the interval: 120 s and 30 s),
/// scaled to 400 ms and 100 ms.
fn scaled_default_server() -> ServerConfig {
    let defaults = ServerConfig::default();
    let interval = defaults.core.keep_alive_interval.unwrap();
    let timeout = defaults.core.keep_alive_timeout.unwrap();
    assert_eq!((interval.as_secs(), timeout.as_secs()), (120, 30));
    let mut config = ServerConfig::default();
    config.core.keep_alive_interval = Some(Duration::from_millis(400));
    config.core.keep_alive_timeout = Some(Duration::from_millis(100));
    config
}

pub async fn the_default_keep_alive_ratio_detects_a_dead_peer_after_interval_plus_timeout<
    T: TestRuntime,
>() {
    let (addr, server) = T::serve_one_ws(scaled_default_server(), |mut ws| async move {
        let start = Instant::now();
        (ws.recv().await, start.elapsed())
    })
    .await;
    // The client never reads.
    let _peer = RawPeer::<T>::handshake(addr, "/").await;
    let (result, elapsed) = server.await;
    assert!(
        matches!(
            result,
            Some(Err(Error::Connection(ConnectionError::KeepAliveTimeout)))
        ),
        "{result:?}"
    );
    assert!(elapsed >= Duration::from_millis(480), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

/// The reference stack pings every interval: a peer that answers every ping at once is
/// pinged every interval, not every interval + timeout (a proxy with an idle limit equal to
/// the interval would otherwise drop the connection).
pub async fn an_answering_peer_is_pinged_every_interval_with_the_default_ratio<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(scaled_default_server()).await;
    let mut client = quiet_client::<T>(addr).await;
    let start = Instant::now();
    let times = ping_times(&mut client, 3, start).await;
    for (i, time) in times.iter().enumerate() {
        let due = Duration::from_millis(400) * (i as u32 + 1);
        assert!(*time >= due - Duration::from_millis(20), "{times:?}");
    }
    // Every interval + timeout would put the third ping at 1500 ms.
    assert!(times[2] < Duration::from_millis(1350), "{times:?}");
}

pub async fn a_peer_that_keeps_answering_stays_connected_past_many_timeouts<T: TestRuntime>() {
    let mut config = keep_alive_server(Some(Duration::from_millis(100)));
    config.core.keep_alive_interval = Some(Duration::from_millis(100));
    let addr = spawn_echo_server::<T>(config).await;
    let mut ws = quiet_client::<T>(addr).await;
    let mut pings = 0;
    let until = Instant::now() + Duration::from_millis(1200);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match timeout::<T, _>(left, ws.recv()).await {
            Some(Some(Ok(Message::Ping(_)))) => pings += 1,
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    assert!(pings >= 3, "only {pings} pings in 1.2 s");
    ws.send(Message::text("still here")).await.unwrap();
    assert_eq!(recv_data(&mut ws).await, Message::text("still here"));
}

pub async fn traffic_from_the_peer_postpones_the_ping<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(keep_alive_server(None)).await;
    let mut ws = quiet_client::<T>(addr).await;
    // A message every 50 ms for 1 s: the server always heard from us recently.
    for i in 0..20 {
        ws.send(Message::text(format!("{i}"))).await.unwrap();
        match recv(&mut ws).await {
            Message::Text(text) => assert_eq!(&*text, format!("{i}")),
            other => panic!("no ping expected while talking, got {other:?}"),
        }
        T::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn a_dead_client_is_detected_within_interval_plus_timeout<T: TestRuntime>() {
    let timeout = Duration::from_millis(200);
    let (addr, server) = T::serve_one_ws(keep_alive_server(Some(timeout)), |mut ws| async move {
        let start = Instant::now();
        let result = ws.recv().await;
        let elapsed = start.elapsed();
        let after = ws.recv().await;
        (result, elapsed, after.is_none())
    })
    .await;
    // Completes the handshake, then never reads nor writes until the server gave up.
    let mut peer = RawPeer::<T>::handshake(addr, "/").await;
    let (result, elapsed, ended) = server.await;
    assert!(
        matches!(
            result,
            Some(Err(Error::Connection(ConnectionError::KeepAliveTimeout)))
        ),
        "{result:?}"
    );
    assert!(
        elapsed >= INTERVAL + timeout - Duration::from_millis(20),
        "{elapsed:?}"
    );
    assert!(
        elapsed < INTERVAL + timeout + Duration::from_millis(600),
        "{elapsed:?}"
    );
    assert!(ended);
    // What the dead peer would have read: one ping, no close frame, the end of TCP.
    let ping = peer.read_frame().await.expect("the keep-alive ping");
    assert_eq!(ping.opcode, op::PING);
    assert_eq!(peer.read_frame().await, None);
}

pub async fn a_dead_server_is_detected_by_the_clients_keep_alive<T: TestRuntime>() {
    let (listener, addr) = listen::<T>().await;
    let raw_server = T::spawn(async move {
        let mut peer = RawPeer::<T>::accept_handshake(&listener, &[]).await;
        // Dead: reads nothing until the client gives up and closes the TCP.
        T::sleep(Duration::from_secs(2)).await;
        peer.read_to_end().await
    });
    let mut config = ClientConfig::default();
    config.core.keep_alive_interval = Some(INTERVAL);
    config.core.keep_alive_timeout = Some(Duration::from_millis(200));
    let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
    let (mut ws, _) = T::connect_with(request, &config).await.unwrap();
    let start = Instant::now();
    let result = ws.recv().await;
    let elapsed = start.elapsed();
    assert!(
        matches!(
            result,
            Some(Err(Error::Connection(ConnectionError::KeepAliveTimeout)))
        ),
        "{result:?}"
    );
    assert!(elapsed >= Duration::from_millis(380), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    assert!(ws.recv().await.is_none());
    drop(ws);
    // The server eventually reads the client's masked keep-alive ping, then the end.
    let bytes = raw_server.await;
    assert_eq!(bytes.first(), Some(&0x89), "a ping frame: {bytes:?}");
}

/// Keep-alive runs while the application is inside `recv` only; an in-memory pipe (not a
/// socket) carries it the same, so any transport of the runtime's works.
pub async fn keep_alive_runs_over_an_in_memory_pipe<T: TestRuntime>() {
    let (server_io, client_io) = T::pipe();
    let request = ClientRequest::from_url("ws://localhost/").unwrap();
    let mut client_config = ClientConfig::default();
    client_config.core.keep_alive_interval = None;
    let server_config = keep_alive_server(None);
    let (server, client) = future::zip(
        ropeway_async::server::accept_with_config::<T::Rt, _>(server_io, &server_config),
        ropeway_async::client::handshake::<T::Rt, _>(client_io, &request, &client_config),
    )
    .await;
    let mut server = server.unwrap();
    let mut client = client.unwrap().0;
    let pings = T::spawn(async move {
        let start = Instant::now();
        ping_times(&mut client, 2, start).await
    });
    let reader = T::spawn(async move { while server.recv().await.is_some() {} });
    let times = pings.await;
    assert!(times[1] - times[0] >= INTERVAL - Duration::from_millis(20));
    drop(reader);
}
