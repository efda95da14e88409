//! `recv_piece`: messages of any size stream through a small caller buffer, each ending
//! with exactly one `end_of_message`, like the reference stack's `ReceiveAsync`.

use crate::prelude::*;
use ropeway_async::{Io, WebSocket};
use ropeway_core::driver::Piece;
use ropeway_core::{CloseFrame, Error, Message, MessageKind, ServerConfig};

/// What one message looked like when received in pieces.
#[derive(Debug)]
struct Pieced {
    kind: MessageKind,
    bytes: Vec<u8>,
    pieces: usize,
}

/// Receives pieces into a buffer of `buf_len` bytes until a message ends (checking every
/// piece fits and only the last ends the message), or returns the close frame.
async fn recv_pieced<S: Unpin, R: Io<S>>(
    ws: &mut WebSocket<S, R>,
    buf_len: usize,
) -> Result<Pieced, Option<CloseFrame>> {
    let mut buf = vec![0; buf_len];
    let mut message: Option<Pieced> = None;
    loop {
        match ws
            .recv_piece(&mut buf)
            .await
            .expect("a piece")
            .expect("no error")
        {
            Piece::Data {
                kind,
                len,
                end_of_message,
            } => {
                assert!(len <= buf_len);
                let m = message.get_or_insert(Pieced {
                    kind,
                    bytes: Vec::new(),
                    pieces: 0,
                });
                assert_eq!(m.kind, kind, "kind changed inside a message");
                m.bytes.extend_from_slice(&buf[..len]);
                m.pieces += 1;
                if end_of_message {
                    return Ok(message.unwrap());
                }
            }
            Piece::Close(frame) => {
                assert!(message.is_none(), "close inside a message");
                return Err(frame);
            }
        }
    }
}

pub async fn a_1_mib_message_arrives_in_4_kib_pieces_with_one_end_of_message<T: TestRuntime>() {
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |mut ws| async move {
        let mut got = Vec::new();
        loop {
            match recv_pieced(&mut ws, 4096).await {
                Ok(message) => got.push(message),
                Err(frame) => {
                    assert_eq!(frame, Some(CloseFrame::new(1000, "done")));
                    break;
                }
            }
        }
        let end = ws.recv_piece(&mut [0; 16]).await;
        assert!(end.is_none(), "{end:?}");
        got
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    let binary = bytes_of_len(1 << 20);
    let text = text_of_len(1 << 20);
    ws.send(Message::binary(binary.clone())).await.unwrap();
    ws.send(Message::text(text.clone())).await.unwrap();
    // A fragmented message, and an empty one.
    ws.send_fragment(MessageKind::Binary, &binary[..10_000], false)
        .await
        .unwrap();
    ws.send_fragment(MessageKind::Binary, &binary[10_000..20_000], true)
        .await
        .unwrap();
    ws.send(Message::text("")).await.unwrap();
    ws.send(Message::binary(vec![42])).await.unwrap();
    ws.close(Some(CloseFrame::new(1000, "done"))).await.unwrap();

    let got = server.await;
    assert_eq!(
        got.len(),
        5,
        "{:?}",
        got.iter().map(|m| m.pieces).collect::<Vec<_>>()
    );
    assert_eq!(got[0].kind, MessageKind::Binary);
    assert!(got[0].bytes == binary, "binary content changed");
    assert!(got[0].pieces >= 256, "{} pieces", got[0].pieces);
    assert_eq!(got[1].kind, MessageKind::Text);
    assert!(got[1].bytes == text.as_bytes(), "text content changed");
    assert!(got[1].pieces >= 256);
    assert_eq!(got[2].kind, MessageKind::Binary);
    assert!(got[2].bytes == binary[..20_000]);
    assert_eq!(got[3].kind, MessageKind::Text);
    assert!(got[3].bytes.is_empty());
    assert_eq!(got[4].bytes, [42]);
}

pub async fn pieces_and_whole_messages_can_alternate_between_messages<T: TestRuntime>() {
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |mut ws| async move {
        let first = recv_pieced(&mut ws, 100).await.unwrap();
        let second = recv(&mut ws).await;
        let third = recv_pieced(&mut ws, 7).await.unwrap();
        (first.bytes, second, third.bytes)
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    ws.send(Message::binary(bytes_of_len(1000))).await.unwrap();
    ws.send(Message::text("whole")).await.unwrap();
    ws.send(Message::binary(bytes_of_len(50))).await.unwrap();
    let (first, second, third) = server.await;
    assert_eq!(first, bytes_of_len(1000));
    assert_eq!(second, Message::text("whole"));
    assert_eq!(third, bytes_of_len(50));
}

pub async fn recv_piece_reports_a_protocol_error<T: TestRuntime>() {
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |mut ws| async move {
        let mut buf = [0; 64];
        let first = ws.recv_piece(&mut buf).await;
        let second = ws.recv_piece(&mut buf).await;
        (first, second)
    })
    .await;
    let mut peer = RawPeer::<T>::handshake(addr, "/").await;
    peer.write(&client_frame(0x3, true, b"reserved opcode"))
        .await;
    assert_eq!(peer.read_frame().await.unwrap().close_code(), Some(1002));
    let (first, second) = server.await;
    assert!(
        matches!(first, Some(Err(Error::Connection(_)))),
        "{first:?}"
    );
    assert!(second.is_none());
}
