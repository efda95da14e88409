//! Keep-alive with the default settings (ping after 120 s idle, 30 s for the pong) at full
//! length, on tokio's paused clock: only tokio has a virtual clock, so these two cases stay
//! here. ropeway-testsuite's `keepalive` cases run the same ratio in real milliseconds on
//! every runtime.

mod common;

use std::time::Duration;

use common::*;
use ropeway_tokio::server::ServerConfig;
use ropeway_tokio::{ClientConfig, ClientRequest, ConnectionError, Error, Message};

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
