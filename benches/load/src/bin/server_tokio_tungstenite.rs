//! Echo server on tokio-tungstenite: `accept_async_with_config`, then the
//! `Stream` + `Sink` loop.

use futures_util::{SinkExt, StreamExt};
use ropeway_bench_load::server::{self, MAX_FRAME_SIZE, MAX_MESSAGE_SIZE};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn main() {
    server::run("tokio-tungstenite", |stream| async move {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_SIZE))
            .max_frame_size(Some(MAX_FRAME_SIZE));
        let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
        else {
            return;
        };
        // Text is validated as UTF-8 by tungstenite before it becomes a `Message::Text`.
        while let Some(Ok(msg)) = ws.next().await {
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                break;
            }
        }
    })
}
