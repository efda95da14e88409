//! Streaming a large message in pieces, both ways, in bounded memory: the client sends
//! 50 MiB with `send_fragment` (64 KiB at a time), the server reads it with `recv_piece`
//! into a 64 KiB buffer, then streams its own 50 MiB answer back the same way.
//!
//! Neither side ever holds the message: only the buffer. The message size limit still
//! applies to a streamed message (`Limits::max_message_size`, 16 MiB by default, counted
//! as the pieces arrive), so both sides raise it here.
//!
//! ```sh
//! cargo run --release -p ropeway-smol --example smol_streaming               # ws://127.0.0.1:9003
//! cargo run -p ropeway-smol --example smol_streaming -- --self-test [MiB]    # default 50
//! ```

use std::net::SocketAddr;

use futures_io::{AsyncRead, AsyncWrite};
use ropeway_smol::server::{ServerConfig, accept_with_config};
use ropeway_smol::{ClientConfig, ClientRequest, Error, MessageKind, Piece, WebSocket};
use smol::net::TcpListener;

const PIECE: usize = 64 * 1024;
/// The limit both sides accept: larger than the 16 MiB default.
const MAX_MESSAGE: usize = 256 * 1024 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let self_test = args.next().as_deref() == Some("--self-test");
    let mib: usize = args.next().map_or(Ok(50), |a| a.parse())?;
    let listener = TcpListener::bind(if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:9003"
    })
    .await?;
    let addr = listener.local_addr()?;
    let server = smol::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await?;
            smol::spawn(async move {
                if let Err(e) = serve(tcp).await {
                    eprintln!("server: {e}");
                }
            })
            .detach();
        }
        #[allow(unreachable_code)]
        Ok::<_, std::io::Error>(())
    });
    if !self_test {
        println!("streaming server on ws://{addr}");
        return Ok(server.await?);
    }
    client(addr, mib * 1024 * 1024).await?;
    println!("smol_streaming self-test: {mib} MiB each way, ok");
    Ok(())
}

/// The server: read one message piece by piece, answer with a message of the same size.
async fn serve(tcp: smol::net::TcpStream) -> Result<(), Error> {
    let mut config = ServerConfig::default();
    config.core.limits.max_message_size = MAX_MESSAGE;
    let mut ws = accept_with_config(tcp, &config).await?;
    let Some((len, sum)) = receive(&mut ws).await? else {
        return Ok(());
    };
    eprintln!("server: received {len} bytes (checksum {sum:#x}), streaming them back");
    send(&mut ws, len).await?;
    // Wait for the client's close.
    while ws.recv().await.transpose()?.is_some() {}
    Ok(())
}

/// The client: stream `len` bytes out, then read the answer piece by piece.
async fn client(addr: SocketAddr, len: usize) -> Result<(), Error> {
    let mut config = ClientConfig::default();
    config.core.limits.max_message_size = MAX_MESSAGE;
    let request = ClientRequest::from_url(&format!("ws://{addr}/"))?;
    let (mut ws, _) = ropeway_smol::connect_with(request, &config).await?;
    let sent = send(&mut ws, len).await?;
    let Some((received, sum)) = receive(&mut ws).await? else {
        return Err(Error::Closed);
    };
    assert_eq!(
        (received, sum),
        (len, sent),
        "the answer has the same bytes"
    );
    ws.close(None).await
}

/// Streams `len` bytes of a pattern as one binary message; returns their checksum.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocket<S>,
    len: usize,
) -> Result<u64, Error> {
    let mut buf = vec![0u8; PIECE];
    let (mut sent, mut sum) = (0, 0);
    while sent < len {
        let n = PIECE.min(len - sent);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = ((sent + i) % 251) as u8;
        }
        sum = checksum(sum, &buf[..n]);
        sent += n;
        // `fin` on the last fragment ends the message.
        ws.send_fragment(MessageKind::Binary, &buf[..n], sent == len)
            .await?;
    }
    Ok(sum)
}

/// Reads one message piece by piece; its length and checksum, or `None` if the peer closed.
async fn receive<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocket<S>,
) -> Result<Option<(usize, u64)>, Error> {
    let mut buf = vec![0u8; PIECE];
    let (mut len, mut sum) = (0, 0);
    while let Some(piece) = ws.recv_piece(&mut buf).await {
        match piece? {
            Piece::Data {
                len: n,
                end_of_message,
                ..
            } => {
                sum = checksum(sum, &buf[..n]);
                len += n;
                if end_of_message {
                    return Ok(Some((len, sum)));
                }
            }
            Piece::Close(_) => return Ok(None),
        }
    }
    Ok(None)
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
