//! Backpressure: a peer that never reads must make sends wait, not make the sender's
//! memory grow; once the peer reads again, everything accepted arrives intact and in order.

use std::net::SocketAddr;
use std::time::Duration;

use crate::prelude::*;
use futures_channel::oneshot;
use ropeway_core::{Message, ServerConfig};
use socket2::{Domain, Socket, Type};

/// Size of each message sent.
const MSG: usize = 64 << 10;
/// The queued-output limit of the sending side.
const MAX_QUEUED: usize = 256 << 10;
/// A send that makes no progress for this long counts as blocked.
const BLOCKED_AFTER: Duration = Duration::from_millis(500);
/// More than the kernel's socket buffers can take on this machine (tcp_wmem max 4 MiB plus
/// the peer's 64 KiB receive buffer) plus what ropeway may hold: a sender that accepts this
/// much without blocking is buffering without bound.
const UNBOUNDED: usize = 16 << 20;

fn server_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.core.limits.max_queued_output = MAX_QUEUED;
    config
}

/// A 64 KiB binary message whose first four bytes are its sequence number.
fn numbered(seq: u32) -> Message {
    let mut bytes = bytes_of_len(MSG);
    bytes[..4].copy_from_slice(&seq.to_be_bytes());
    Message::binary(bytes)
}

/// A raw client with a small receive buffer that completes the handshake and then reads
/// nothing until the test says so.
async fn non_reading_peer<T: TestRuntime>(addr: SocketAddr) -> RawPeer<T> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(64 << 10).unwrap();
    // A blocking connect: loopback answers at once.
    socket.connect(&addr.into()).unwrap();
    let stream = std::net::TcpStream::from(socket);
    stream.set_nonblocking(true).unwrap();
    let stream = T::tcp_from_std(stream).unwrap();
    RawPeer::<T>::new(stream).upgrade("/").await
}

/// Reads the numbered messages up to the text "end" and returns their sequence numbers,
/// checking each arrived intact; then answers the server's close.
async fn drain_numbered<T: TestRuntime>(peer: &mut RawPeer<T>) -> Vec<u32> {
    let expected = bytes_of_len(MSG);
    let mut seqs = Vec::new();
    loop {
        let frame = peer.read_frame().await.expect("a frame");
        match frame.opcode {
            op::BINARY => {
                assert!(frame.fin);
                assert_eq!(frame.payload.len(), MSG);
                assert_eq!(frame.payload[4..], expected[4..], "corrupted message");
                let seq = u32::from_be_bytes(frame.payload[..4].try_into().unwrap());
                seqs.push(seq);
            }
            op::TEXT => {
                assert_eq!(frame.payload, b"end");
                break;
            }
            other => panic!("unexpected opcode {other}"),
        }
    }
    let close = peer.read_frame_of(op::CLOSE).await;
    peer.write(&client_frame(op::CLOSE, true, &close.payload))
        .await;
    assert_eq!(peer.read_frame().await, None);
    seqs
}

pub async fn send_blocks_with_bounded_queued_output_when_the_peer_never_reads<T: TestRuntime>() {
    let (blocked_tx, blocked_rx) = oneshot::channel();
    let (addr, server) = T::serve_one_ws(server_config(), |mut ws: ServerWs<T>| async move {
        let bound = MAX_QUEUED + MSG + 14;
        let mut completed = Vec::new();
        let mut blocked = 0;
        for seq in 0.. {
            match timeout::<T, _>(BLOCKED_AFTER, ws.send(numbered(seq))).await {
                Some(result) => {
                    result.unwrap();
                    completed.push(seq);
                    assert!(completed.len() * MSG < UNBOUNDED, "send never blocked");
                }
                // Dropping the blocked send is fine: a queued message still goes out.
                None => blocked += 1,
            }
            let queued = ws.connection().queued_output();
            assert!(queued <= bound, "{queued} bytes queued, over {bound}");
            if blocked == 3 {
                break;
            }
        }
        blocked_tx.send(completed).unwrap();
        // The peer reads again: the rest goes out, then a clean close.
        ws.send(Message::text("end")).await.unwrap();
        ws.close(None).await.unwrap();
    })
    .await;
    let mut peer = non_reading_peer::<T>(addr).await;
    let completed = blocked_rx.await.unwrap();
    let seqs = drain_numbered(&mut peer).await;
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "out of order: {seqs:?}"
    );
    for seq in &completed {
        assert!(seqs.contains(seq), "completed send {seq} never arrived");
    }
    server.await;
}

pub async fn write_half_sends_block_instead_of_buffering_when_the_peer_never_reads<
    T: TestRuntime,
>() {
    let (blocked_tx, blocked_rx) = oneshot::channel();
    let (addr, server) = T::serve_one_ws(server_config(), |ws: ServerWs<T>| async move {
        let (mut reader, writer) = ws.split();
        let sender = writer.clone();
        let completed = T::spawn(async move {
            let mut completed = 0u32;
            while let Some(result) =
                timeout::<T, _>(BLOCKED_AFTER, sender.send(numbered(completed))).await
            {
                result.unwrap();
                completed += 1;
                assert!((completed as usize) * MSG < UNBOUNDED, "send never blocked");
            }
            completed
        })
        .await;
        blocked_tx.send(completed).unwrap();
        writer.send(Message::text("end")).await.unwrap();
        writer.close(None).await.unwrap();
        let mut seen = Vec::new();
        while let Some(message) = reader.recv().await {
            seen.push(message.unwrap());
        }
        seen
    })
    .await;
    let mut peer = non_reading_peer::<T>(addr).await;
    let completed = blocked_rx.await.unwrap();
    assert!(completed > 0);
    let seqs = drain_numbered(&mut peer).await;
    // A timed-out channel send is not sent at all, so exactly the completed ones arrive.
    assert_eq!(seqs, (0..completed).collect::<Vec<_>>());
    let seen = server.await;
    assert!(matches!(&seen[..], [Message::Close(None)]), "{seen:?}");
}

/// Sends 64 KiB messages until a send makes no progress for [`BLOCKED_AFTER`], so the
/// socket buffers are full and output is queued in ropeway.
async fn fill_until_blocked<T: TestRuntime>(ws: &mut ServerWs<T>) {
    for seq in 0.. {
        if timeout::<T, _>(BLOCKED_AFTER, ws.send(numbered(seq)))
            .await
            .is_none()
        {
            break;
        }
        assert!((seq as usize) * MSG < UNBOUNDED, "send never blocked");
    }
    assert!(ws.connection().queued_output() > 0);
}

pub async fn close_returns_within_the_close_timeout_when_the_peer_never_reads<T: TestRuntime>() {
    let mut config = server_config();
    config.core.close_timeout = Duration::from_millis(300);
    let (addr, server) = T::serve_one_ws(config, |mut ws: ServerWs<T>| async move {
        fill_until_blocked::<T>(&mut ws).await;
        let start = std::time::Instant::now();
        let closed = timeout::<T, _>(Duration::from_secs(3), ws.close(None)).await;
        let elapsed = start.elapsed();
        let after = timeout::<T, _>(Duration::from_secs(3), ws.recv()).await;
        (closed.is_some(), elapsed, after.map(|m| m.is_none()))
    })
    .await;
    let _peer = non_reading_peer::<T>(addr).await;
    let (returned, elapsed, after) = server.await;
    assert!(returned, "close() still waiting after 3 s");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert_eq!(after, Some(true), "recv after close() must end at once");
}

pub async fn a_peer_that_never_reads_is_dropped_at_the_write_stall_timeout_whatever_it_sends<
    T: TestRuntime,
>() {
    let mut config = server_config();
    config.core.close_timeout = Duration::from_millis(300);
    // Longer than the fill's own wait for a blocked send, so the fill completes first.
    config.core.write_stall_timeout = Some(BLOCKED_AFTER * 2);
    let (filled_tx, filled_rx) = oneshot::channel();
    let (addr, server) = T::serve_one_ws(config, |mut ws: ServerWs<T>| async move {
        fill_until_blocked::<T>(&mut ws).await;
        filled_tx.send(()).unwrap();
        let start = std::time::Instant::now();
        let first = timeout::<T, _>(Duration::from_secs(3), ws.recv()).await;
        let elapsed = start.elapsed();
        let after = timeout::<T, _>(Duration::from_secs(3), ws.recv()).await;
        (first, elapsed, after.map(|m| m.is_none()))
    })
    .await;
    let mut peer = non_reading_peer::<T>(addr).await;
    filled_rx.await.unwrap();
    // Breaks the protocol, and still reads nothing. The server reads nothing either
    // while its output is over the limit (so a flooding peer cannot grow it): it sees the
    // bad frame only if the kernel took enough to bring it under the limit; otherwise the
    // stalled output is what ends the connection. Either way, within bounded time.
    peer.write(&frame(op::TEXT, true, b"unmasked", None)).await;
    let (first, elapsed, after) = server.await;
    let first = first.expect("recv still waiting after 3 s");
    assert!(
        matches!(
            first,
            Some(Err(ropeway_core::Error::Connection(
                ropeway_core::ConnectionError::WriteStalled
                    | ropeway_core::ConnectionError::Protocol(_)
            )))
        ),
        "{first:?}"
    );
    assert!(elapsed < BLOCKED_AFTER * 2, "{elapsed:?}");
    assert_eq!(after, Some(true), "recv after the error must end at once");
}
