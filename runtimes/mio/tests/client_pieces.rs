//! Streaming with the blocking client: a large message received in pieces through a small
//! buffer, and a message sent as fragments.

mod client_common;

use client_common::*;
use ropeway_mio::client::{Message, MessageKind, Piece};
use ropeway_tokio::server::ServerConfig;

#[test]
fn a_large_message_streams_through_a_small_buffer_in_pieces() {
    bounded(|| {
        let payload = bytes_of_len(1 << 20);
        let expected = payload.clone();
        let addr = serve(ServerConfig::default(), move |mut ws| {
            let payload = payload.clone();
            async move {
                ws.send(Message::binary(payload)).await.unwrap();
                ws.send(Message::text("after")).await.unwrap();
                while let Some(Ok(_)) = ws.recv().await {}
            }
        });
        let mut ws = connect(addr);
        let mut buf = [0; 4096];
        let mut received = Vec::new();
        let mut pieces = 0;
        loop {
            match ws.recv_piece(&mut buf).unwrap().unwrap() {
                Piece::Data {
                    kind,
                    len,
                    end_of_message,
                } => {
                    assert_eq!(kind, MessageKind::Binary);
                    assert!(len <= buf.len());
                    received.extend_from_slice(&buf[..len]);
                    pieces += 1;
                    if end_of_message {
                        break;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(received, expected);
        assert!(pieces >= 256, "{pieces} pieces of at most 4 KiB");
        // The next message is whole again.
        assert_eq!(recv(&mut ws), Message::text("after"));
        ws.close(None).unwrap();
    });
}

#[test]
fn an_empty_piece_buffer_is_refused_rather_than_spinning() {
    bounded(|| {
        let addr = echo_server(ServerConfig::default());
        let mut ws = connect(addr);
        assert!(matches!(ws.recv_piece(&mut []), Some(Err(_))));
    });
}

#[test]
fn fragments_sent_one_by_one_arrive_as_one_message() {
    bounded(|| {
        let addr = echo_server(ServerConfig::default());
        let mut ws = connect(addr);
        // A code point split across fragments.
        let text = "fragmenté ✓".as_bytes();
        ws.send_fragment(MessageKind::Text, &text[..9], false)
            .unwrap();
        ws.send_fragment(MessageKind::Text, &text[9..11], false)
            .unwrap();
        ws.send_fragment(MessageKind::Text, &text[11..], true)
            .unwrap();
        assert_eq!(recv(&mut ws), Message::text("fragmenté ✓"));
        // A large binary message streamed out in 64 KiB fragments.
        let payload = bytes_of_len(1 << 20);
        let chunks: Vec<_> = payload.chunks(64 << 10).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            ws.send_fragment(MessageKind::Binary, chunk, i + 1 == chunks.len())
                .unwrap();
        }
        assert_eq!(recv(&mut ws), Message::binary(payload));
    });
}
