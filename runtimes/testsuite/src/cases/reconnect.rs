//! The reconnecting client against servers that drop it, refuse it or ask it to wait: what
//! the application sees, and that the waits are the schedule's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use ropeway_async::Reconnecting;
use ropeway_async::server::plain;
use ropeway_core::handshake::ClientRequest;
use ropeway_core::reconnect::{Disconnect, NotSent, Reconnect, ReconnectPolicy, Stop};
use ropeway_core::{CloseFrame, ConnectionError, Error, HandshakeError, Message, ServerConfig};

use crate::prelude::*;

/// What the scripted server does with each connection, in order.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Accept the WebSocket, then close it with this code.
    CloseWith(u16),
    /// Answer the upgrade request with this status (and `Retry-After`, if given).
    Status(u16, Option<&'static str>),
    /// Accept the WebSocket, then drop the TCP connection without a close.
    Vanish,
    /// Accept the WebSocket and echo.
    Echo,
}

/// A server on a fresh port that answers its connections as `answers` says, and counts
/// every connection, including those past the script (which it drops).
async fn scripted<T: TestRuntime>(answers: Vec<Answer>) -> (SocketAddr, Arc<AtomicUsize>) {
    let (listener, addr) = listen::<T>().await;
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    T::detach(async move {
        while let Ok(tcp) = T::accept_tcp(&listener).await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let Some(&answer) = answers.get(n) else {
                continue;
            };
            T::detach(async move {
                let config = ServerConfig::default();
                match answer {
                    Answer::CloseWith(code) => {
                        let mut ws = T::accept_with_config(tcp, &config).await.unwrap();
                        let _ = ws.close(Some(CloseFrame::new(code, "scripted"))).await;
                    }
                    Answer::Status(status, retry_after) => {
                        let incoming = Incoming::<T>::read(tcp, &config).await.unwrap();
                        let mut response = plain(StatusCode::from_u16(status).unwrap());
                        if let Some(value) = retry_after {
                            response
                                .headers_mut()
                                .insert("retry-after", value.parse().unwrap());
                        }
                        incoming.respond(response, b"").await.unwrap();
                    }
                    Answer::Vanish => drop(T::accept_with_config(tcp, &config).await.unwrap()),
                    Answer::Echo => {
                        let ws = T::accept_with_config(tcp, &config).await.unwrap();
                        let _ = echo(ws).await;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// Exact, short waits: 50 ms, 100 ms, 200 ms, 200 ms …
fn fast() -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        jitter: 0.0,
        ..ReconnectPolicy::default()
    }
}

fn client<T: TestRuntime>(addr: SocketAddr, policy: ReconnectPolicy) -> Reconnecting<T::Rt> {
    let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
    Reconnecting::new(request, Default::default(), policy)
}

async fn next<T: TestRuntime>(client: &mut Reconnecting<T::Rt>) -> Reconnect {
    client.recv().await.expect("an event, not the end")
}

async fn connected<T: TestRuntime>(client: &mut Reconnecting<T::Rt>) {
    match next::<T>(client).await {
        Reconnect::Connected(response) => assert_eq!(response.status(), 101),
        other => panic!("expected Connected, got {other:?}"),
    }
}

pub async fn a_server_restart_close_1012_is_reported_and_the_client_comes_back<T: TestRuntime>() {
    let (addr, accepted) = scripted::<T>(vec![Answer::CloseWith(1012), Answer::Echo]).await;
    let mut client = client::<T>(addr, fast());
    connected::<T>(&mut client).await;
    match next::<T>(&mut client).await {
        Reconnect::Disconnected {
            cause: Disconnect::Closed(Some(frame)),
            retry_in,
            attempt,
        } => {
            assert_eq!(frame.code.0, 1012);
            assert_eq!(retry_in, Duration::from_millis(50));
            assert_eq!(attempt, 1);
        }
        other => panic!("expected the 1012 drop, got {other:?}"),
    }
    assert!(!client.is_connected());
    connected::<T>(&mut client).await;
    // The application resubscribes on the new connection, and it carries messages.
    client.send(Message::text("subscribe")).await.unwrap();
    match next::<T>(&mut client).await {
        Reconnect::Message(message) => assert_eq!(message, Message::text("subscribe")),
        other => panic!("expected the echo, got {other:?}"),
    }
    client.close(None).await.unwrap();
    assert!(
        client.recv().await.is_none(),
        "closed by the application: the end"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

pub async fn a_server_that_vanishes_is_an_abnormal_drop_and_the_client_comes_back<
    T: TestRuntime,
>() {
    let (addr, _) = scripted::<T>(vec![Answer::Vanish, Answer::Echo]).await;
    let mut client = client::<T>(addr, fast());
    connected::<T>(&mut client).await;
    match next::<T>(&mut client).await {
        Reconnect::Disconnected {
            cause: Disconnect::Failed(Error::Connection(ConnectionError::Abnormal)),
            ..
        } => {}
        other => panic!("expected an abnormal drop, got {other:?}"),
    }
    // The same events as a `Stream`.
    match futures_util::StreamExt::next(&mut client).await {
        Some(Reconnect::Connected(response)) => assert_eq!(response.status(), 101),
        other => panic!("expected Connected from the stream, got {other:?}"),
    }
}

pub async fn a_403_answer_stops_the_client_with_the_error<T: TestRuntime>() {
    let (addr, accepted) = scripted::<T>(vec![Answer::Status(403, None)]).await;
    let mut client = client::<T>(addr, fast());
    match next::<T>(&mut client).await {
        Reconnect::Stopped {
            cause: Disconnect::Failed(Error::Handshake(HandshakeError::Rejected { status, .. })),
            stop: Stop::Fatal,
        } => assert_eq!(status, 403),
        other => panic!("expected to stop on the 403, got {other:?}"),
    }
    assert!(client.recv().await.is_none(), "nothing after Stopped");
    // Longer than the 50 ms a retry would wait: there was none.
    T::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "a fatal answer is not retried"
    );
}

pub async fn a_503_with_retry_after_is_waited_out_before_the_next_attempt<T: TestRuntime>() {
    let (addr, accepted) = scripted::<T>(vec![Answer::Status(503, Some("1")), Answer::Echo]).await;
    let mut client = client::<T>(addr, fast());
    // Taken before the 503 is even asked for, so the schedule cannot be early by the time
    // between its decision and this test's reading of the clock.
    let before = Instant::now();
    match next::<T>(&mut client).await {
        Reconnect::Disconnected {
            cause: Disconnect::Failed(Error::Handshake(HandshakeError::Rejected { status, .. })),
            retry_in,
            ..
        } => {
            assert_eq!(status, 503);
            assert_eq!(
                retry_in,
                Duration::from_secs(1),
                "Retry-After, not the 50 ms backoff"
            );
        }
        other => panic!("expected the 503, got {other:?}"),
    }
    connected::<T>(&mut client).await;
    assert!(
        before.elapsed() >= Duration::from_secs(1),
        "{:?}",
        before.elapsed()
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

pub async fn send_while_disconnected_gives_the_message_back_and_it_goes_after_the_reconnect<
    T: TestRuntime,
>() {
    let (addr, _) = scripted::<T>(vec![Answer::CloseWith(1012), Answer::Echo]).await;
    let mut client = client::<T>(addr, fast());
    // Not connected yet: the first attempt runs inside recv.
    match client.send(Message::text("early")).await {
        Err(NotSent::Disconnected(message)) => assert_eq!(message, Message::text("early")),
        other => panic!("expected the message back, got {other:?}"),
    }
    connected::<T>(&mut client).await;
    assert!(matches!(
        next::<T>(&mut client).await,
        Reconnect::Disconnected { .. }
    ));
    let kept = match client.send(Message::binary(vec![1u8, 2, 3])).await {
        Err(NotSent::Disconnected(message)) => message,
        other => panic!("expected the message back, got {other:?}"),
    };
    assert_eq!(kept, Message::binary(vec![1u8, 2, 3]));
    connected::<T>(&mut client).await;
    client.send(kept).await.unwrap();
    match next::<T>(&mut client).await {
        Reconnect::Message(message) => assert_eq!(message, Message::binary(vec![1u8, 2, 3])),
        other => panic!("expected the echo, got {other:?}"),
    }
    client.close(None).await.unwrap();
    match client.send(Message::text("late")).await {
        Err(NotSent::Disconnected(message)) => assert_eq!(message, Message::text("late")),
        other => panic!("after close, expected the message back, got {other:?}"),
    }
}

pub async fn refused_connections_are_retried_until_max_attempts<T: TestRuntime>() {
    // A port nobody listens on any more.
    let addr = listen::<T>().await.1;
    let policy = ReconnectPolicy {
        max_attempts: Some(3),
        ..fast()
    };
    let mut client = client::<T>(addr, policy);
    let mut waits = Vec::new();
    loop {
        match next::<T>(&mut client).await {
            Reconnect::Disconnected {
                cause: Disconnect::Failed(Error::Io(_)),
                retry_in,
                ..
            } => waits.push(retry_in.as_millis()),
            Reconnect::Stopped { stop, .. } => {
                assert_eq!(stop, Stop::Exhausted { attempts: 3 });
                break;
            }
            other => panic!("expected refusals, got {other:?}"),
        }
    }
    assert_eq!(waits, [50, 100]);
    assert!(client.recv().await.is_none());
}

/// A reconnecting client can move to a spawned task on either runtime.
const _: fn() = || {
    fn send<X: Send>() {}
    send::<Reconnecting<ropeway_tokio::Tokio>>();
    send::<Reconnecting<ropeway_smol::Smol>>();
};
