//! Echo server on ropeway-smol: `server::accept_with_config` on the TCP stream, then the
//! `recv` / `send` loop, as in ropeway's own examples, on one thread with a smol local
//! executor ([`server::run_smol_with_args`]). Otherwise the same settings as the
//! ropeway-tokio server (`server_ropeway.rs`), so the two rows compare the runtimes.

use std::sync::Arc;

use ropeway_bench_load::server::{self, DEFLATE_LEVEL, MAX_MESSAGE_SIZE};
use ropeway_core::deflate::{DeflateConfig, DeflateServer};
use ropeway_smol::server::{ServerConfig, accept_with_config};

fn main() {
    server::run_smol_with_args("ropeway-smol", |args| {
        let mut config = ServerConfig::default();
        config.core.limits.max_message_size = MAX_MESSAGE_SIZE;
        config.core.limits.max_frame_size = server::MAX_FRAME_SIZE;
        // Keep-alive pings would be traffic the other contenders don't send; all are off.
        config.core.keep_alive_interval = None;
        if args.deflate {
            // The same conditions as the other deflate contenders: 15-bit windows, server
            // context takeover, the shared level, every message compressed.
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
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            }
        }
    })
}
