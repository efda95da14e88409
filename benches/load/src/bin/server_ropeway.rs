//! Echo server on ropeway-tokio: `server::accept_with_config` on the TCP stream, then the
//! `recv` / `send` loop, as in ropeway's own examples.

use ropeway_bench_load::server::{self, MAX_MESSAGE_SIZE};
use ropeway_tokio::server::{ServerConfig, accept_with_config};

fn main() {
    let mut config = ServerConfig::default();
    config.core.limits.max_message_size = MAX_MESSAGE_SIZE;
    config.core.limits.max_frame_size = server::MAX_FRAME_SIZE;
    // Keep-alive pings would be traffic the other contenders don't send; all are off.
    config.core.keep_alive_interval = None;
    // Shared, as an application would: each connection's task holds a pointer, not a copy.
    let config = std::sync::Arc::new(config);
    server::run("ropeway", move |stream| {
        let config = config.clone();
        async move {
            let Ok(mut ws) = accept_with_config(stream, &config).await else {
                return;
            };
            // Text is validated as UTF-8 by the core as it arrives (always on).
            while let Some(Ok(message)) = ws.recv().await {
                if message.is_data() && ws.send(message).await.is_err() {
                    break;
                }
            }
        }
    })
}
