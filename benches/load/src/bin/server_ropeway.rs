//! Echo server on ropeway-tokio: `server::accept_with_config` on the TCP stream, then the
//! `recv` / `send` loop, as in ropeway's own examples. `--deflate` adds ropeway's
//! permessage-deflate negotiator to the server's extensions, as the echo example does.
//!
//! `--broadcast`: the request is read first (`Incoming::read`) and routed by its path, as
//! ropeway's docs do for routing. The publisher's messages are framed once
//! (`PreparedMessage`) and sent through the shared hub; each subscriber's task writes them
//! with `send_prepared` (no framing per connection) while still receiving from its peer
//! (`recv` is cancellation-safe), so pings and the close handshake are answered.

use std::sync::Arc;

use ropeway_bench_load::server::{self, DEFLATE_LEVEL, MAX_MESSAGE_SIZE, Role};
use ropeway_core::deflate::{DeflateConfig, DeflateServer};
use ropeway_tokio::server::{Incoming, ServerConfig, accept_with_config, plain};
use ropeway_tokio::{Accept, Message, MessageKind, PreparedMessage};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

fn main() {
    server::run_modes(
        "ropeway",
        |args| {
            let mut config = config();
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
        },
        |_| {
            let config = Arc::new(config());
            let hub = server::hub::<PreparedMessage>();
            move |stream| pubsub(stream, config.clone(), hub.clone())
        },
    )
}

/// The settings of both modes: the shared limits, and no keep-alive pings (traffic the
/// other contenders don't send).
fn config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.core.limits.max_message_size = MAX_MESSAGE_SIZE;
    config.core.limits.max_frame_size = server::MAX_FRAME_SIZE;
    config.core.keep_alive_interval = None;
    config
}

/// One broadcast-mode connection: routed by path, then publisher or subscriber.
async fn pubsub(
    stream: TcpStream,
    config: Arc<ServerConfig>,
    hub: broadcast::Sender<PreparedMessage>,
) {
    let Ok(incoming) = Incoming::read(stream, &config).await else {
        return;
    };
    let Some(role) = Role::of(incoming.path()) else {
        let _ = incoming
            .respond(plain(http::StatusCode::NOT_FOUND), b"")
            .await;
        return;
    };
    // Subscribed before the 101 goes out, so no message published after it is missed.
    let receiver = (role == Role::Subscriber).then(|| hub.subscribe());
    let Ok(mut ws) = incoming.accept(Accept::default()).await else {
        return;
    };
    match receiver {
        None => {
            while let Some(Ok(message)) = ws.recv().await {
                let prepared = match message {
                    Message::Binary(b) => PreparedMessage::new(MessageKind::Binary, b),
                    Message::Text(t) => PreparedMessage::new(MessageKind::Text, t.into_bytes()),
                    _ => continue,
                };
                // No subscribers is not an error.
                let _ = hub.send(prepared);
            }
        }
        Some(mut receiver) => loop {
            tokio::select! {
                published = receiver.recv() => match published {
                    Ok(prepared) => {
                        if ws.send_prepared(&prepared).await.is_err() {
                            break;
                        }
                    }
                    // Lagged past the hub's capacity, or the hub is gone: disconnect.
                    Err(_) => break,
                },
                received = ws.recv() => if !matches!(received, Some(Ok(_))) {
                    break;
                },
            }
        },
    }
}
