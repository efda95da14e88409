//! What the blocking client's loopback tests share: a ropeway-tokio server peer on its own
//! thread, raw TCP peers, a bound on every test's time, and message helpers.
#![allow(dead_code)]

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use std::thread;

use ropeway_mio::client::{
    self, ClientConfig, ClientRequest, CloseFrame, Message, Options, Reader, WebSocket, Writer,
};
use ropeway_tokio::server::{ServerConfig, accept_with_config};

/// How long one test may take: far above its normal time, so that a hang fails it.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `body` on its own thread; fails the test if it takes longer than [`TEST_TIMEOUT`].
pub fn bounded<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    bounded_for(TEST_TIMEOUT, body)
}

/// Runs `body` on its own thread; fails the test if it takes longer than `limit`.
pub fn bounded_for<T: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, wait) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let result = body();
        let _ = done.send(());
        result
    });
    match wait.recv_timeout(limit) {
        // Finished, or panicked (the sender is dropped): join says which.
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish within {limit:?}"),
    }
}

/// Serves WebSocket connections with ropeway-tokio on 127.0.0.1 (an ephemeral port), each
/// handled by `handler`, on a thread of its own that lives as long as the test process.
pub fn serve<F, Fut>(config: ServerConfig, handler: F) -> SocketAddr
where
    F: Fn(ropeway_tokio::WebSocket<tokio::net::TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let handler = std::sync::Arc::new(handler);
            while let Ok((tcp, _)) = listener.accept().await {
                tcp.set_nodelay(true).unwrap();
                let config = config.clone();
                let handler = handler.clone();
                tokio::spawn(async move {
                    if let Ok(ws) = accept_with_config(tcp, &config).await {
                        handler(ws).await;
                    }
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// An echo server with `config`.
pub fn echo_server(config: ServerConfig) -> SocketAddr {
    serve(config, |ws| async move {
        let _ = echo(ws).await;
    })
}

/// Echoes data messages until the connection ends.
pub async fn echo(
    mut ws: ropeway_tokio::WebSocket<tokio::net::TcpStream>,
) -> Result<(), ropeway_tokio::Error> {
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

/// A raw TCP server on 127.0.0.1: each accepted socket goes to `handler` on its own thread.
pub fn raw_server(handler: impl Fn(TcpStream) + Send + Sync + Clone + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let handler = handler.clone();
            std::thread::spawn(move || handler(tcp));
        }
    });
    addr
}

/// Reads an HTTP head from `tcp` (a socket, or TLS over one) up to the blank line.
pub fn read_head(tcp: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Answers the upgrade request read from `tcp` with a valid 101.
pub fn accept_raw(tcp: &mut TcpStream) {
    let head = read_head(tcp);
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .expect("a Sec-WebSocket-Key");
    let accept = ropeway_core::handshake::accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    tcp.write_all(response.as_bytes()).unwrap();
}

/// An unmasked server frame.
pub fn server_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= 0xffff => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

/// `ws://addr/path`.
pub fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// Connects the blocking client to `addr` with `config` and `options`.
pub fn connect_to(addr: SocketAddr, config: &ClientConfig, options: Options) -> WebSocket {
    let request = ClientRequest::from_url(&ws_url(addr, "/ws")).unwrap();
    client::connect_with(request, config, options).unwrap().0
}

/// Connects with the defaults.
pub fn connect(addr: SocketAddr) -> WebSocket {
    client::connect(&ws_url(addr, "/ws")).unwrap().0
}

/// The next message; fails the test at the end of the connection or on an error.
pub fn recv(ws: &mut WebSocket) -> Message {
    match ws.recv() {
        Some(Ok(message)) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// A text of `n` bytes with multi-byte characters (a code point may straddle frame and
/// read boundaries).
pub fn text_of_len(n: usize) -> String {
    let mut text = String::with_capacity(n);
    let pattern = ['a', 'é', '✓', '😀'];
    let mut i = 0;
    while text.len() < n {
        let c = pattern[i % pattern.len()];
        if text.len() + c.len_utf8() > n {
            text.push('x');
        } else {
            text.push(c);
        }
        i += 1;
    }
    text
}

/// `n` bytes of a pattern that is not all one value.
pub fn bytes_of_len(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The length classes of the frame header: empty, 7-bit, 16-bit and 64-bit lengths at their
/// edges, and a large message.
pub const LENGTHS: [usize; 8] = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20];

/// Sends text and binary messages of every length in `lengths`, and checks each echo.
pub fn assert_echoes(ws: &mut WebSocket, lengths: &[usize]) {
    for &n in lengths {
        let text = Message::text(text_of_len(n));
        ws.send(text.clone()).unwrap();
        assert_eq!(recv(ws), text, "text of {n} bytes");
        let binary = Message::binary(bytes_of_len(n));
        ws.send(binary.clone()).unwrap();
        assert_eq!(recv(ws), binary, "binary of {n} bytes");
    }
}

/// The `i`th message of a writer: sizes cycling through the frame length classes.
fn nth(writer: usize, i: usize) -> Message {
    let len = [3, 125, 126, 4000, 20_000, 65_536][i % 6];
    let mut text = format!("w{writer} m{i} ");
    text.push_str(&text_of_len(len));
    Message::text(text)
}

/// `writers` threads each send `per_writer` messages through clones of `writer`, while
/// `reader` receives every echo on its own thread at the same time. Checks that each
/// writer's messages come back whole and in order.
pub fn hammer(reader: Reader, writer: Writer, writers: usize, per_writer: usize) {
    let receiving = thread::spawn(move || {
        let mut reader = reader;
        let mut next = vec![0; writers];
        for _ in 0..writers * per_writer {
            let message = match reader.recv() {
                Some(Ok(message)) => message,
                other => panic!("expected an echo, got {other:?}"),
            };
            let Message::Text(text) = &message else {
                panic!("unexpected {message:?}")
            };
            let w: usize = text[1..text.find(' ').unwrap()].parse().unwrap();
            assert_eq!(message, nth(w, next[w]), "writer {w}'s message {}", next[w]);
            next[w] += 1;
        }
        reader
    });
    let sending: Vec<_> = (0..writers)
        .map(|w| {
            let writer = writer.clone();
            thread::spawn(move || {
                for i in 0..per_writer {
                    writer.send(nth(w, i)).unwrap();
                }
            })
        })
        .collect();
    for handle in sending {
        handle.join().unwrap();
    }
    let mut reader = receiving.join().unwrap();
    // Closing from the writer side while the reader waits for the end.
    let ending = thread::spawn(move || reader.recv().map(|r| r.map_err(|e| e.to_string())));
    thread::sleep(Duration::from_millis(20));
    writer.close(Some(CloseFrame::new(1000, "done"))).unwrap();
    let last = ending.join().unwrap();
    assert!(
        matches!(last, None | Some(Ok(Message::Close(_)))),
        "the reader sees the end: {last:?}"
    );
}
