//! Echo server on tokio-websockets: `ServerBuilder::accept`, then the
//! `Stream` + `Sink` loop, as in the crate's own `echo_server` example.

use futures_util::{SinkExt, StreamExt};
use ropeway_bench_load::server::{self, MAX_MESSAGE_SIZE};
use tokio_websockets::{Limits, ServerBuilder};

fn main() {
    server::run("tokio-websockets", |stream| async move {
        let Ok((_request, mut ws)) = ServerBuilder::new()
            .limits(Limits::default().max_payload_len(Some(MAX_MESSAGE_SIZE)))
            .accept(stream)
            .await
        else {
            return;
        };
        // Text messages are validated as UTF-8 by the codec (always on).
        while let Some(Ok(msg)) = ws.next().await {
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                break;
            }
        }
    })
}
