//! Echo server on ropeway-tokio: `server::accept_with_config` on the TCP stream, then the
//! `recv` / `send` loop, as in ropeway's own examples. `--deflate` adds ropeway's
//! permessage-deflate negotiator to the server's extensions, as the echo example does.

use std::sync::Arc;

use ropeway_bench_load::server::{self, DEFLATE_LEVEL, MAX_MESSAGE_SIZE};
use ropeway_core::deflate::{DeflateConfig, DeflateServer};
use ropeway_tokio::server::{ServerConfig, accept_with_config};

fn main() {
    server::run_with_args("ropeway", |args| {
        let mut config = ServerConfig::default();
        config.core.limits.max_message_size = MAX_MESSAGE_SIZE;
        config.core.limits.max_frame_size = server::MAX_FRAME_SIZE;
        // Keep-alive pings would be traffic the other contenders don't send; all are off.
        config.core.keep_alive_interval = None;
        if args.deflate {
            // The defaults spelled out where they are conditions of the comparison:
            // 15-bit windows and server context takeover (DeflateConfig::default()),
            // the shared level, and every message compressed (threshold 0, as yawc's).
            let deflate = DeflateConfig {
                level: DEFLATE_LEVEL,
                threshold: 0,
                ..DeflateConfig::default()
            };
            config
                .extensions
                .push(Arc::new(DeflateServer::new(deflate)));
        }
        // Shared, as an application would: each connection's task holds a pointer, not a copy.
        let config = Arc::new(config);
        move |stream| {
            let config = config.clone();
            async move {
                let Ok(mut ws) = accept_with_config(stream, &config).await else {
                    return;
                };
                // Text is validated as UTF-8 by the core as it arrives (always on). With
                // permessage-deflate, `recv` inflates and `send` compresses.
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            }
        }
    })
}
