//! Cancellation safety: `recv` and `recv_piece` futures dropped by a timer that wins a race
//! (as `tokio::select!` or `future::or` drop them) while a slow peer trickles frames in
//! lose and corrupt nothing.

use std::time::Duration;

use crate::prelude::*;
use bytes::Bytes;
use ropeway_core::driver::Piece;
use ropeway_core::{Message, ServerConfig};

/// The messages the trickling peer sends, and the bytes that carry them: a large frame, a
/// fragmented text with a code point split across fragments, a ping between fragments, and
/// small frames, ending with a close.
fn trickled_messages() -> (Vec<Message>, Vec<u8>) {
    let big = bytes_of_len(200_000);
    let text = text_of_len(30_001);
    let split = 7; // inside the first 4-byte character
    let mut wire = Vec::new();
    wire.extend(client_frame(op::BINARY, true, &big));
    wire.extend(client_frame(op::TEXT, false, &text.as_bytes()[..split]));
    wire.extend(client_frame(op::PING, true, b"tick"));
    wire.extend(client_frame(
        op::CONTINUATION,
        false,
        &text.as_bytes()[split..20_000],
    ));
    wire.extend(client_frame(
        op::CONTINUATION,
        true,
        &text.as_bytes()[20_000..],
    ));
    for i in 0..20u8 {
        wire.extend(client_frame(op::BINARY, true, &[i; 3]));
    }
    wire.extend(client_frame(op::CLOSE, true, &close_payload(1000, "")));
    let mut messages = vec![
        Message::binary(big),
        Message::Ping(Bytes::from_static(b"tick")),
        Message::text(text),
    ];
    messages.extend((0..20u8).map(|i| Message::binary(vec![i; 3])));
    (messages, wire)
}

/// Writes `wire` in 1000-byte chunks with a pause after each, longer than the 2 ms race
/// (async-io's timers are precise: with a 1 ms pause a piece would arrive before every tick,
/// and no recv would ever be cancelled).
async fn trickle<T: TestRuntime>(peer: &mut RawPeer<T>, wire: &[u8]) {
    for chunk in wire.chunks(1000) {
        peer.write(chunk).await;
        T::sleep(Duration::from_millis(3)).await;
    }
}

/// `operation`'s output, or `None` when a 2 ms timer wins the race and drops it.
async fn or_tick<T: TestRuntime, F: std::future::Future>(operation: F) -> Option<F::Output> {
    timeout::<T, _>(Duration::from_millis(2), operation).await
}

pub async fn recv_dropped_by_a_timer_in_a_race_loses_nothing<T: TestRuntime>() {
    let (expected, wire) = trickled_messages();
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |mut ws| async move {
        let mut got = Vec::new();
        let mut ticks = 0u32;
        loop {
            match or_tick::<T, _>(ws.recv()).await {
                Some(Some(Ok(Message::Close(_)))) => {}
                Some(Some(Ok(message))) => got.push(message),
                Some(Some(Err(e))) => panic!("{e}"),
                Some(None) => break,
                None => ticks += 1,
            }
        }
        (got, ticks)
    })
    .await;
    let mut peer = RawPeer::<T>::handshake(addr, "/").await;
    trickle(&mut peer, &wire).await;
    let pong = peer.read_frame_of(op::PONG).await;
    assert_eq!(pong.payload, b"tick");
    let close = peer.read_frame_of(op::CLOSE).await;
    assert_eq!(close.close_code(), Some(1000));
    let (got, ticks) = server.await;
    // Several dropped recv calls prove the point; how many depends on the machine's
    // load (20-odd on a quiet one), so the bar is low enough never to flake.
    assert!(
        ticks >= 5,
        "the timer must have cancelled many recv calls: {ticks}"
    );
    assert_eq!(got.len(), expected.len());
    for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert!(got == expected, "message {i} differs");
    }
}

pub async fn recv_piece_dropped_by_a_timer_in_a_race_loses_nothing<T: TestRuntime>() {
    let (expected, wire) = trickled_messages();
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |mut ws| async move {
        let mut buf = [0u8; 4096];
        let mut messages: Vec<Vec<u8>> = Vec::new();
        let mut current = Vec::new();
        let mut ticks = 0u32;
        loop {
            match or_tick::<T, _>(ws.recv_piece(&mut buf)).await {
                Some(Some(Ok(Piece::Data {
                    len,
                    end_of_message,
                    ..
                }))) => {
                    current.extend_from_slice(&buf[..len]);
                    if end_of_message {
                        messages.push(std::mem::take(&mut current));
                    }
                }
                Some(Some(Ok(Piece::Close(_)))) => {}
                Some(Some(Err(e))) => panic!("{e}"),
                Some(None) => break,
                None => ticks += 1,
            }
        }
        (messages, ticks)
    })
    .await;
    let mut peer = RawPeer::<T>::handshake(addr, "/").await;
    trickle(&mut peer, &wire).await;
    peer.read_frame_of(op::CLOSE).await;
    let (got, ticks) = server.await;
    // See above: several cancelled calls, however loaded the machine.
    assert!(ticks >= 5, "{ticks}");
    // recv_piece skips pings.
    let expected: Vec<Vec<u8>> = expected
        .into_iter()
        .filter_map(|m| match m {
            Message::Text(t) => Some(t.as_bytes().to_vec()),
            Message::Binary(b) => Some(b.to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), expected.len());
    for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert!(got == expected, "message {i} differs");
    }
}
