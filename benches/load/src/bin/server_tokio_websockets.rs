//! Echo server on tokio-websockets: `ServerBuilder::accept`, then the
//! `Stream` + `Sink` loop, as in the crate's own `echo_server` example.
//!
//! `--broadcast`: `accept` returns the request with the stream, so routing happens after
//! the 101 is written (the load generator waits before publishing, so no subscriber misses
//! the first message). The publisher's payloads go through the shared hub as `Bytes`; each
//! subscriber's task wraps them in `Message::binary` (no copy) and sends them while reading
//! from its peer with `next` (cancellation-safe).

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use ropeway_bench_load::server::{self, MAX_MESSAGE_SIZE, Role};
use tokio_websockets::{Limits, Message, ServerBuilder};

fn builder() -> ServerBuilder {
    ServerBuilder::new().limits(Limits::default().max_payload_len(Some(MAX_MESSAGE_SIZE)))
}

fn main() {
    server::run_modes(
        "tokio-websockets",
        |args| {
            server::refuse_deflate("tokio-websockets", args);
            |stream| async move {
                let Ok((_request, mut ws)) = builder().accept(stream).await else {
                    return;
                };
                // Text messages are validated as UTF-8 by the codec (always on).
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
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
                    let Ok((request, mut ws)) = builder().accept(stream).await else {
                        return;
                    };
                    match Role::of(request.uri().path()) {
                        Some(Role::Publisher) => {
                            while let Some(Ok(msg)) = ws.next().await {
                                if msg.is_binary() {
                                    let _ = hub.send(Bytes::from(msg.into_payload()));
                                }
                            }
                        }
                        Some(Role::Subscriber) => {
                            let mut receiver = hub.subscribe();
                            loop {
                                tokio::select! {
                                    published = receiver.recv() => match published {
                                        Ok(payload) => {
                                            if ws.send(Message::binary(payload)).await.is_err() {
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
