//! Streaming a large message in pieces, both ways, in bounded memory: the blocking client
//! sends 50 MiB with `send_fragment` (64 KiB at a time); the event-loop server takes it in
//! pieces (`Delivery::Pieces`, `on_piece`) and sends each piece straight back as a fragment
//! of its answer (`Context::send_fragment`); the client reads the answer with `recv_piece`
//! into a 64 KiB buffer as it goes.
//!
//! Nobody ever holds the message: only buffers. The client waits for each fragment's echo
//! before it sends the next, so the server's queued output stays one fragment deep (the
//! event loop has no "drained" callback: a handler streams at the pace of what arrives).
//! The message size limit still applies to a streamed message (`Limits::max_message_size`,
//! 16 MiB by default, counted as the pieces arrive), so both sides raise it here.
//!
//! ```sh
//! cargo run --release -p ropeway-mio --example mio_streaming               # ws://127.0.0.1:9003
//! cargo run -p ropeway-mio --example mio_streaming -- --self-test [MiB]    # default 50
//! ```

use std::net::SocketAddr;

use ropeway_mio::client::{self, ClientConfig, ClientRequest, Piece, WebSocket};
use ropeway_mio::server::{Config, ConnId, Context, Decision, Delivery, Handler, Incoming};
use ropeway_mio::server::{PieceRef, Server};
use ropeway_mio::{CloseFrame, Error, Message, MessageKind};

const PIECE: usize = 64 * 1024;
/// The limit both sides accept: larger than the 16 MiB default.
const MAX_MESSAGE: usize = 256 * 1024 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let self_test = args.next().as_deref() == Some("--self-test");
    let mib: usize = args.next().map_or(Ok(50), |a| a.parse())?;
    let mut config = Config::default();
    config.websocket.core.limits.max_message_size = MAX_MESSAGE;
    // Pieces of up to 32 KiB (the most the loop hands out) as they arrive.
    config.delivery = Delivery::Pieces(32 * 1024);
    let server = Server::bind(
        if self_test {
            "127.0.0.1:0"
        } else {
            "127.0.0.1:9003"
        },
        config,
    )?;
    let addr = server.local_addr()?;
    if !self_test {
        println!("streaming echo on ws://{addr}");
        return Ok(server.run(StreamEcho)?);
    }
    let running = server.spawn(StreamEcho)?;
    client(addr, mib * 1024 * 1024)?;
    running.stop()?;
    println!("mio_streaming self-test: {mib} MiB each way, ok");
    Ok(())
}

/// Echoes every message piece by piece, as fragments of one answer.
#[derive(Clone)]
struct StreamEcho;

impl Handler for StreamEcho {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_piece(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), piece: PieceRef<'_>) {
        if let Err(e) = cx.send_fragment(id, piece.kind, piece.data, piece.end) {
            // A fragment refused leaves the answer with a hole: end the connection.
            eprintln!("server: fragment not sent ({e}), closing");
            let _ = cx.close(id, Some(CloseFrame::new(1011, "answer cut")));
        }
    }

    // With `Delivery::Pieces` whole messages never arrive.
    fn on_message(&mut self, _: &mut Context<'_>, _: ConnId, _: &mut (), _: Message) {}
}

/// The client: streams `len` bytes of a pattern out as one binary message and reads the
/// echo piece by piece as it comes; checks that the bytes came back in order.
fn client(addr: SocketAddr, len: usize) -> Result<(), Error> {
    let mut config = ClientConfig::default();
    config.core.limits.max_message_size = MAX_MESSAGE;
    let request = ClientRequest::from_url(&format!("ws://{addr}/"))?;
    let (mut ws, _) = client::connect_with(request, &config, Default::default())?;
    let mut out = vec![0u8; PIECE];
    let mut inbox = vec![0u8; PIECE];
    let (mut sent, mut received) = (0, 0);
    let (mut sent_sum, mut received_sum) = (0, 0);
    while sent < len {
        let n = PIECE.min(len - sent);
        for (i, b) in out[..n].iter_mut().enumerate() {
            *b = ((sent + i) % 251) as u8;
        }
        sent_sum = checksum(sent_sum, &out[..n]);
        sent += n;
        // `fin` on the last fragment ends the message.
        ws.send_fragment(MessageKind::Binary, &out[..n], sent == len)?;
        // The echo of this fragment, in however many pieces it comes.
        while received < sent {
            let (n, end) = next_piece(&mut ws, &mut inbox)?;
            received_sum = checksum(received_sum, &inbox[..n]);
            received += n;
            assert_eq!(
                end,
                received == len,
                "the answer ends where the message did"
            );
        }
    }
    assert_eq!(
        (received, received_sum),
        (len, sent_sum),
        "the answer has the same bytes"
    );
    ws.close(None)
}

/// The next piece of data: its length and whether it ends the message.
fn next_piece(ws: &mut WebSocket, buf: &mut [u8]) -> Result<(usize, bool), Error> {
    match ws.recv_piece(buf) {
        Some(Ok(Piece::Data {
            len,
            end_of_message,
            ..
        })) => Ok((len, end_of_message)),
        Some(Ok(Piece::Close(_))) | None => Err(Error::Closed),
        Some(Err(e)) => Err(e),
    }
}

/// A cheap order-sensitive checksum (FNV-1a).
fn checksum(mut sum: u64, bytes: &[u8]) -> u64 {
    if sum == 0 {
        sum = 0xcbf2_9ce4_8422_2325;
    }
    for &b in bytes {
        sum = (sum ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    sum
}
