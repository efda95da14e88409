//! Echo server on ropeway-smol: `server::accept_with_config` on the TCP stream, then the
//! `recv` / `send` loop, as in ropeway's own examples, on one thread with a smol local
//! executor ([`server::run_smol_modes`]). Otherwise the same settings as the
//! ropeway-tokio server (`server_ropeway.rs`), so the two rows compare the runtimes.
//!
//! `--broadcast`: as the ropeway-tokio server: routed by path, messages framed once
//! (`PreparedMessage`) and sent through the shared hub (a tokio broadcast channel, which
//! needs no tokio runtime), written with `send_prepared` by each subscriber's task.

use std::rc::Rc;
use std::sync::Arc;

use ropeway_bench_load::server::{self, DEFLATE_LEVEL, MAX_MESSAGE_SIZE, Role};
use ropeway_core::deflate::{DeflateConfig, DeflateServer};
use ropeway_smol::server::{Incoming, ServerConfig, accept_with_config, plain};
use ropeway_smol::{Accept, Message, MessageKind, PreparedMessage};
use smol::net::TcpStream;
use tokio::sync::broadcast;

fn main() {
    server::run_smol_modes(
        "ropeway-smol",
        |args| {
            let mut config = config();
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
        },
        |_| {
            // One thread: the tasks share the settings through an `Rc`.
            let config = Rc::new(config());
            let hub = server::hub::<PreparedMessage>();
            move |stream| pubsub(stream, config.clone(), hub.clone())
        },
    )
}

/// The settings of both modes: the shared limits, no keep-alive pings.
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
    config: Rc<ServerConfig>,
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
                let _ = hub.send(prepared);
            }
        }
        // `select!` needs no tokio runtime; both `recv`s are cancellation-safe.
        Some(mut receiver) => loop {
            tokio::select! {
                published = receiver.recv() => match published {
                    Ok(prepared) => {
                        if ws.send_prepared(&prepared).await.is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                received = ws.recv() => if !matches!(received, Some(Ok(_))) {
                    break;
                },
            }
        },
    }
}
