//! Echo server on sockudo-ws: `WebSocketServer::<Http1>::accept_raw` (the handshake, then a
//! `WebSocketStream` over the concrete `TcpStream`, no type erasure), then the `Stream` +
//! `Sink` loop of the crate's `simple_echo` example.
//!
//! Built as its README recommends: the default features (`simd`: masking and UTF-8
//! validation picked at run time, AVX-512/AVX2/SSE2) and its `mimalloc` feature, which makes
//! mimalloc the global allocator of this binary ("recommended for production").
//! `init_clock` runs before the runtime is built, as the crate asks, so quanta's calibration
//! is not part of the first connection.
//!
//! `--broadcast`: the shared hub as `Bytes`; each subscriber's task sends
//! `Message::Binary(payload)` (no copy) while reading from its peer with `next`.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use ropeway_bench_load::server::{self, MAX_FRAME_SIZE, MAX_MESSAGE_SIZE, Role};
use sockudo_ws::server::WebSocketServer;
use sockudo_ws::{Config, Http1, Message};

fn server() -> WebSocketServer<Http1> {
    WebSocketServer::<Http1>::new(
        Config::builder()
            .max_message_size(MAX_MESSAGE_SIZE)
            .max_frame_size(MAX_FRAME_SIZE)
            .build(),
    )
}

fn main() {
    sockudo_ws::init_clock();
    server::run_modes(
        "sockudo-ws",
        |args| {
            // It has permessage-deflate, with its own server-wide knobs; the compression
            // cases are left to the crates measured there so far.
            server::refuse_deflate("sockudo-ws", args);
            |stream| async move {
                let Ok((mut ws, _handshake)) = server().accept_raw(stream).await else {
                    return;
                };
                // Text messages are validated as UTF-8 (`validate_text_utf8`, on by default).
                while let Some(Ok(msg)) = ws.next().await {
                    let echo = match msg {
                        Message::Text(_) | Message::Binary(_) => msg,
                        Message::Close(_) => break,
                        Message::Ping(_) | Message::Pong(_) => continue,
                    };
                    if ws.send(echo).await.is_err() {
                        break;
                    }
                }
            }
        },
        |_| {
            let hub = server::hub::<Bytes>();
            move |stream| {
                let hub = hub.clone();
                async move {
                    let Ok((mut ws, handshake)) = server().accept_raw(stream).await else {
                        return;
                    };
                    match Role::of(&handshake.path) {
                        Some(Role::Publisher) => {
                            while let Some(Ok(msg)) = ws.next().await {
                                if let Message::Binary(payload) = msg {
                                    let _ = hub.send(payload);
                                }
                            }
                        }
                        Some(Role::Subscriber) => {
                            let mut receiver = hub.subscribe();
                            loop {
                                tokio::select! {
                                    published = receiver.recv() => match published {
                                        Ok(payload) => {
                                            if ws.send(Message::Binary(payload)).await.is_err() {
                                                break;
                                            }
                                        }
                                        Err(_) => break,
                                    },
                                    received = ws.next() => if !matches!(received, Some(Ok(_))) {
                                        break;
                                    },
                                }
                            }
                        }
                        None => {}
                    }
                }
            }
        },
    )
}
