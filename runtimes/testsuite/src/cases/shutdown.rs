//! A server's graceful shutdown through a [`Registry`]: 1001 to every registered
//! connection (plain and split), the close handshakes awaited, an unanswered one cut at the
//! shutdown's deadline, a connection registered after the shutdown began closed at once.

use std::time::{Duration, Instant};

use ropeway_async::{ConnectionId, Registry, going_away};
use ropeway_core::{CloseCode, CloseFrame, Message, ServerConfig};

use crate::prelude::*;

/// How many clients the shutdown closes at once.
const CLIENTS: usize = 3;

/// The server's side of one connection: echoes, and returns the close frame its `recv`
/// reported (the client's answer to the 1001), or what ended it.
async fn serve_registered<T: TestRuntime>(
    listener: &T::Listener,
    registry: &Registry<T::Rt>,
    split: bool,
) -> T::Task<Result<Option<CloseFrame>, ropeway_core::Error>> {
    let tcp = T::accept_tcp(listener).await.expect("accept");
    let mut ws = T::accept_with_config(tcp, &ServerConfig::default())
        .await
        .expect("server handshake");
    ws.register(registry);
    if !split {
        return T::spawn(echo(ws));
    }
    let (mut reader, writer) = ws.split();
    T::spawn(async move {
        let mut close = None;
        while let Some(message) = reader.recv().await {
            match message? {
                message @ (Message::Text(_) | Message::Binary(_)) => writer.send(message).await?,
                Message::Close(frame) => close = frame,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
        Ok(close)
    })
}

pub async fn shutdown_sends_1001_to_every_registered_connection_and_waits_for_the_clean_closes<
    T: TestRuntime,
>() {
    let registry = Registry::<T::Rt>::new();
    let (listener, addr) = listen::<T>().await;
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for i in 0..CLIENTS {
        let (client, server) = futures_util::future::join(
            connect::<T>(addr, "/"),
            serve_registered::<T>(&listener, &registry, i == 0),
        )
        .await;
        clients.push(client);
        servers.push(server);
    }
    assert_eq!(registry.len(), CLIENTS);
    for client in &mut clients {
        // An echo: the connection is open and being received on.
        client.send(Message::text("before")).await.unwrap();
        assert_eq!(recv(client).await, Message::text("before"));
    }
    let shutdown = T::spawn({
        let registry = registry.clone();
        async move {
            registry
                .shutdown(going_away(), Duration::from_secs(10))
                .await
        }
    });
    for client in &mut clients {
        assert_eq!(
            recv(client).await,
            Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "going away")))
        );
        assert_ends_cleanly(client).await;
    }
    assert_eq!(shutdown.await, 0, "every connection ended");
    assert!(registry.is_empty());
    for server in servers {
        // Each application's recv saw the client's answer, then the end.
        let seen = server.await.expect("a clean end");
        assert_eq!(seen.map(|f| f.code), Some(CloseCode::GOING_AWAY));
    }
}

pub async fn a_client_that_never_answers_the_close_is_cut_at_the_shutdown_deadline<
    T: TestRuntime,
>() {
    let registry = Registry::<T::Rt>::new();
    let (listener, addr) = listen::<T>().await;
    let (mut peer, server) = futures_util::future::join(
        RawPeer::<T>::handshake(addr, "/"),
        serve_registered::<T>(&listener, &registry, false),
    )
    .await;
    let start = Instant::now();
    // The default close timeout is 5 s: the shutdown's deadline is the sooner one.
    let still_open = registry
        .shutdown(going_away(), Duration::from_millis(300))
        .await;
    let elapsed = start.elapsed();
    assert_eq!(still_open, 0);
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let close = peer.read_frame().await.expect("the close frame");
    assert_eq!(close.close_code(), Some(1001));
    assert!(peer.read_frame().await.is_none(), "the server ends the TCP");
    let seen = server.await;
    assert!(
        !matches!(seen, Ok(Some(_))),
        "no close answer was sent: {seen:?}"
    );
}

pub async fn a_connection_registered_after_the_shutdown_began_is_closed_at_once<T: TestRuntime>() {
    let registry = Registry::<T::Rt>::new();
    // A listener waits for the shutdown to begin (what `h2::serve`'s shutdown future is).
    let waiting = T::spawn({
        let registry = registry.clone();
        async move { registry.closing().await }
    });
    registry.close_all(
        Some(CloseFrame::new(4100, "closed for the night")),
        Duration::from_secs(10),
    );
    waiting.await;
    let (listener, addr) = listen::<T>().await;
    let (mut client, server) = futures_util::future::join(
        connect::<T>(addr, "/"),
        serve_registered::<T>(&listener, &registry, false),
    )
    .await;
    assert_eq!(
        recv(&mut client).await,
        Message::Close(Some(CloseFrame::new(4100, "closed for the night")))
    );
    assert_ends_cleanly(&mut client).await;
    let seen = server.await.expect("a clean end");
    assert_eq!(seen.map(|f| f.code), Some(CloseCode(4100)));
    assert!(registry.is_empty());
}

pub async fn one_connection_is_closed_by_its_id_and_the_others_stay_open<T: TestRuntime>() {
    let registry = Registry::<T::Rt>::new();
    let (listener, addr) = listen::<T>().await;
    let (mut first, first_server) = futures_util::future::join(
        connect::<T>(addr, "/"),
        serve_registered::<T>(&listener, &registry, false),
    )
    .await;
    let (mut second, second_server) = futures_util::future::join(
        connect::<T>(addr, "/"),
        serve_registered::<T>(&listener, &registry, true),
    )
    .await;
    let mut ids = registry.ids();
    ids.sort();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1], "ids count up in registration order");
    let kicked = CloseFrame::new(4200, "kicked");
    assert!(registry.close(ids[0], Some(kicked.clone()), Duration::from_secs(10)));
    assert_eq!(recv(&mut first).await, Message::Close(Some(kicked)));
    assert_ends_cleanly(&mut first).await;
    let seen = first_server.await.expect("a clean end");
    assert_eq!(seen.map(|f| f.code), Some(CloseCode(4200)));
    // The first left the registry; the second still echoes.
    wait_for_ids::<T>(&registry, &[ids[1]]).await;
    assert!(
        !registry.close(ids[0], None, Duration::from_secs(1)),
        "gone"
    );
    second.send(Message::text("still here")).await.unwrap();
    assert_eq!(recv(&mut second).await, Message::text("still here"));
    second.close(None).await.unwrap();
    assert_ends_cleanly(&mut second).await;
    second_server.await.expect("a clean end");
    // The second was split: its registration lives in the split's own task, which may end
    // after the application's task did.
    wait_for_ids::<T>(&registry, &[]).await;
}

/// Waits (bounded) until the registry holds exactly `expected`: a connection leaves it when
/// the task that owns it ends, on the executor's time, not when the application's task does.
async fn wait_for_ids<T: TestRuntime>(registry: &Registry<T::Rt>, expected: &[ConnectionId]) {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while registry.ids() != expected && std::time::Instant::now() < until {
        T::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(registry.ids(), expected);
}
