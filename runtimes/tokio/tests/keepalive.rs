//! Keep-alive over real sockets with short real intervals: pings on an idle connection, no
//! pings while the peer talks, and a dead peer detected within interval + timeout.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ropeway_tokio::server::ServerConfig;
use ropeway_tokio::{ClientConfig, ClientRequest, ConnectionError, Error, Message};

const INTERVAL: Duration = Duration::from_millis(200);

/// A server config with keep-alive every [`INTERVAL`] and the given pong timeout.
fn keep_alive_server(timeout: Option<Duration>) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.core.keep_alive_interval = Some(INTERVAL);
    config.core.keep_alive_timeout = timeout;
    config
}

/// A client that sends no keep-alive pings of its own.
async fn quiet_client(
    addr: std::net::SocketAddr,
) -> ropeway_tokio::WebSocket<ropeway_tokio::MaybeTlsStream> {
    let mut config = ClientConfig::default();
    config.core.keep_alive_interval = None;
    let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
    ropeway_tokio::connect_with(request, &config)
        .await
        .unwrap()
        .0
}

/// Receives `n` pings on an otherwise idle connection and returns when each arrived,
/// counted from `start`.
async fn ping_times<S>(
    ws: &mut ropeway_tokio::WebSocket<S>,
    n: usize,
    start: Instant,
) -> Vec<Duration>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
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

#[tokio::test]
async fn an_idle_connection_receives_pings_at_the_interval() {
    bounded(async {
        let addr = spawn_echo_server(keep_alive_server(None)).await;
        let start = Instant::now();
        let mut ws = quiet_client(addr).await;
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
    })
    .await;
}

/// A server and a client over an in-memory pipe (so paused time can auto-advance), with
/// the server's and the client's keep-alive settings.
async fn duplex_pair(
    server: ServerConfig,
    client: ClientConfig,
) -> (
    ropeway_tokio::WebSocket<tokio::io::DuplexStream>,
    ropeway_tokio::WebSocket<tokio::io::DuplexStream>,
) {
    let (server_io, client_io) = tokio::io::duplex(64 << 10);
    let request = ClientRequest::from_url("ws://localhost/").unwrap();
    let (server, client) = tokio::join!(
        ropeway_tokio::server::accept_with_config(server_io, &server),
        ropeway_tokio::client::handshake(client_io, &request, &client),
    );
    (server.unwrap(), client.unwrap().0)
}

#[tokio::test(start_paused = true)]
async fn the_default_keep_alive_detects_a_dead_peer_after_150_s() {
    // Virtual time: the bound is generous, and an idle hang reaches it at once.
    bounded_for(Duration::from_secs(3600), async {
        let (mut server, client) =
            duplex_pair(ServerConfig::default(), ClientConfig::default()).await;
        let start = tokio::time::Instant::now();
        // The client never reads: default interval 120 s, then 30 s for a pong.
        let result = server.recv().await;
        assert!(
            matches!(
                result,
                Some(Err(Error::Connection(ConnectionError::KeepAliveTimeout)))
            ),
            "{result:?}"
        );
        assert_eq!(start.elapsed().as_secs(), 150);
        drop(client);
    })
    .await;
}

/// The reference stack pings every interval: a peer that answers every ping at once is
/// pinged every interval, not every interval + timeout (a proxy with an idle limit equal to
/// the interval would otherwise drop the connection).
#[tokio::test(start_paused = true)]
async fn an_answering_peer_is_pinged_every_interval_with_the_default_settings() {
    bounded_for(Duration::from_secs(3600), async {
        let (mut server, mut client) = duplex_pair(ServerConfig::default(), {
            let mut config = ClientConfig::default();
            config.core.keep_alive_interval = None;
            config
        })
        .await;
        // The server's application reads; the client answers pings as it receives them.
        tokio::spawn(async move { while server.recv().await.is_some() {} });
        let start = tokio::time::Instant::now();
        let mut times = Vec::new();
        while times.len() < 3 {
            if let Message::Ping(_) = recv(&mut client).await {
                times.push(start.elapsed().as_secs());
            }
        }
        assert_eq!(times, [120, 240, 360], "pings at these seconds");
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_keeps_answering_stays_connected_past_many_timeouts() {
    bounded(async {
        let mut config = keep_alive_server(Some(Duration::from_millis(100)));
        config.core.keep_alive_interval = Some(Duration::from_millis(100));
        let addr = spawn_echo_server(config).await;
        let mut ws = quiet_client(addr).await;
        let mut pings = 0;
        let until = tokio::time::sleep(Duration::from_millis(1200));
        tokio::pin!(until);
        loop {
            tokio::select! {
                message = ws.recv() => match message {
                    Some(Ok(Message::Ping(_))) => pings += 1,
                    other => panic!("unexpected {other:?}"),
                },
                _ = &mut until => break,
            }
        }
        assert!(pings >= 3, "only {pings} pings in 1.2 s");
        ws.send(Message::text("still here")).await.unwrap();
        assert_eq!(recv_data(&mut ws).await, Message::text("still here"));
    })
    .await;
}

#[tokio::test]
async fn traffic_from_the_peer_postpones_the_ping() {
    bounded(async {
        let addr = spawn_echo_server(keep_alive_server(None)).await;
        let mut ws = quiet_client(addr).await;
        // A message every 50 ms for 1 s: the server always heard from us recently.
        for i in 0..20 {
            ws.send(Message::text(format!("{i}"))).await.unwrap();
            match recv(&mut ws).await {
                Message::Text(text) => assert_eq!(&*text, format!("{i}")),
                other => panic!("no ping expected while talking, got {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_dead_client_is_detected_within_interval_plus_timeout() {
    bounded(async {
        let timeout = Duration::from_millis(200);
        let (addr, server) = serve_one_ws(keep_alive_server(Some(timeout)), |mut ws| async move {
            let start = Instant::now();
            let result = ws.recv().await;
            let elapsed = start.elapsed();
            let after = ws.recv().await;
            (result, elapsed, after.is_none())
        })
        .await;
        // Completes the handshake, then never reads nor writes until the server gave up.
        let mut peer = RawPeer::handshake(addr, "/").await;
        let (result, elapsed, ended) = server.await.unwrap();
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
    })
    .await;
}

#[tokio::test]
async fn a_dead_server_is_detected_by_the_clients_keep_alive() {
    bounded(async {
        let (listener, addr) = listen().await;
        let raw_server = tokio::spawn(async move {
            let mut peer = RawPeer::accept_handshake(&listener, &[]).await;
            // Dead: reads nothing until the client gives up and closes the TCP.
            tokio::time::sleep(Duration::from_secs(2)).await;
            peer.read_to_end().await
        });
        let mut config = ClientConfig::default();
        config.core.keep_alive_interval = Some(INTERVAL);
        config.core.keep_alive_timeout = Some(Duration::from_millis(200));
        let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
        let (mut ws, _) = ropeway_tokio::connect_with(request, &config).await.unwrap();
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
        let bytes = raw_server.await.unwrap();
        assert_eq!(bytes.first(), Some(&0x89), "a ping frame: {bytes:?}");
    })
    .await;
}
