//! Delivery in pieces: a message of any size streams through the handler in bounded pieces.

mod server_support;

use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use ropeway_mio::client;
use ropeway_mio::server::{
    Config, ConnId, Context, Decision, Delivery, Handler, Incoming, PieceRef,
};
use ropeway_mio::{Bytes, Message, MessageKind};
use server_support::TestServer;

/// Reports each piece's length and end flag; answers each whole message with its size.
#[derive(Clone)]
struct Pieces {
    seen: Sender<(usize, bool, MessageKind)>,
}

impl Handler for Pieces {
    /// Bytes of the current message so far.
    type Conn = usize;

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<usize> {
        Decision::accept(0)
    }

    fn on_message(&mut self, _: &mut Context<'_>, _: ConnId, _: &mut usize, _: Message) {
        unreachable!("pieces are delivered, not messages");
    }

    fn on_piece(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        total: &mut usize,
        piece: PieceRef<'_>,
    ) {
        *total += piece.data.len();
        let _ = self.seen.send((piece.data.len(), piece.end, piece.kind));
        if piece.end {
            let _ = cx.send(id, Message::text(total.to_string()));
            *total = 0;
        }
    }
}

#[test]
fn a_1_mib_message_arrives_in_4_kib_pieces_with_one_end_of_message() {
    let (seen, rx) = channel();
    let config = Config {
        delivery: Delivery::Pieces(4096),
        ..Config::default()
    };
    let server = TestServer::start(config, Pieces { seen });
    let (mut ws, _) = client::connect(&server.url("/ws")).expect("connect");
    ws.send(Message::Binary(Bytes::from(vec![5u8; 1 << 20])))
        .expect("send");
    assert_eq!(
        ws.recv().expect("answer").expect("ok"),
        Message::text("1048576")
    );
    let mut pieces = 0;
    let mut total = 0;
    loop {
        let (len, end, kind) = rx.recv_timeout(Duration::from_secs(5)).expect("a piece");
        assert!(len <= 4096);
        assert_eq!(kind, MessageKind::Binary);
        pieces += 1;
        total += len;
        if end {
            break;
        }
    }
    assert_eq!(total, 1 << 20);
    assert!(pieces >= 256, "{pieces}");
    // Then a small text message: one piece.
    ws.send(Message::text("hi")).expect("send");
    assert_eq!(ws.recv().expect("answer").expect("ok"), Message::text("2"));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).expect("a piece"),
        (2, true, MessageKind::Text)
    );
}
