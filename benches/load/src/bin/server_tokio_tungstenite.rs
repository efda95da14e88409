//! Echo server on tokio-tungstenite: `accept_async_with_config`, then the
//! `Stream` + `Sink` loop.
//!
//! `--broadcast`: `accept_hdr_async_with_config`, whose callback sees the request path and
//! subscribes before the 101 is written. The publisher's `Message`s go through the shared
//! hub as they are (`Message::Binary` holds `Bytes`: a clone is a reference count); each
//! subscriber's task sends them with `send` while reading from its peer with `next`
//! (cancellation-safe: the stream keeps its state), as the crate's chat-server example does
//! with its split halves.

use futures_util::{SinkExt, StreamExt};
use ropeway_bench_load::server::{self, MAX_FRAME_SIZE, MAX_MESSAGE_SIZE, Role};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_SIZE))
        .max_frame_size(Some(MAX_FRAME_SIZE))
}

fn main() {
    server::run_modes(
        "tokio-tungstenite",
        |args| {
            server::refuse_deflate("tokio-tungstenite", args);
            |stream| async move {
                let Ok(mut ws) =
                    tokio_tungstenite::accept_async_with_config(stream, Some(config())).await
                else {
                    return;
                };
                // Text is validated as UTF-8 by tungstenite before it becomes a `Message::Text`.
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            }
        },
        |_| {
            let hub = server::hub::<Message>();
            move |stream| {
                let hub = hub.clone();
                async move {
                    let mut role = None;
                    let mut receiver = None;
                    // The `Err` type is tungstenite's (an HTTP response), never built here.
                    #[allow(clippy::result_large_err)]
                    let route = |request: &Request, response: Response| {
                        role = Role::of(request.uri().path());
                        if role == Some(Role::Subscriber) {
                            receiver = Some(hub.subscribe());
                        }
                        Ok(response)
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async_with_config(
                        stream,
                        route,
                        Some(config()),
                    )
                    .await
                    else {
                        return;
                    };
                    match (role, receiver) {
                        (Some(Role::Publisher), _) => {
                            while let Some(Ok(msg)) = ws.next().await {
                                if msg.is_text() || msg.is_binary() {
                                    let _ = hub.send(msg);
                                }
                            }
                        }
                        (Some(Role::Subscriber), Some(mut receiver)) => loop {
                            tokio::select! {
                                published = receiver.recv() => match published {
                                    Ok(msg) => if ws.send(msg).await.is_err() {
                                        break;
                                    },
                                    Err(broadcast::error::RecvError::Lagged(_))
                                    | Err(broadcast::error::RecvError::Closed) => break,
                                },
                                received = ws.next() => if !matches!(received, Some(Ok(_))) {
                                    break;
                                },
                            }
                        },
                        // Any other path: closed right after the handshake.
                        _ => {}
                    }
                }
            }
        },
    )
}
