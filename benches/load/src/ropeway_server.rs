//! ropeway's contender servers, written once for ropeway-async's runtimes: the
//! `server_ropeway` (tokio) and `server_ropeway_smol` binaries only pick the runtime and
//! its [`Harness`] ([`server::run_modes`], [`server::run_smol_modes`]), so the two rows
//! compare the runtimes and nothing else.
//!
//! Echo: `server::accept_with_config` on the TCP stream, then the `recv` / `send` loop, as
//! in ropeway's own examples. `--deflate` adds ropeway's permessage-deflate negotiator to
//! the server's extensions, as the echo example does.
//!
//! `--broadcast`: the request is read first (`Incoming::read`) and routed by its path, as
//! ropeway's docs do for routing. Subscribers join the group "subscribers" of the crate's
//! own hub (a `Registry`); the publisher's messages are framed once (`PreparedMessage`) and
//! sent with `broadcast_to`, which leaves the frame in every member's mailbox by reference;
//! each subscriber's task writes its mail out while it waits in `recv`, so pings and the
//! close handshake are answered.

use std::future::Future;
use std::sync::Arc;

use ropeway_async::server::{Incoming, accept_with_config, plain};
use ropeway_async::{Io, Registry};
use ropeway_core::deflate::{DeflateConfig, DeflateServer};
use ropeway_core::handshake::Accept;
use ropeway_core::{Message, MessageKind, PreparedMessage, ServerConfig};

use crate::server::{self, DEFLATE_LEVEL, MAX_MESSAGE_SIZE, Member, ServerArgs};

/// A runtime's harness from [`server`] (the same for every contender on that runtime): what
/// runs ropeway's server on it.
pub trait Harness {
    /// The harness's TCP stream, which each connection handler gets.
    type TcpStream: Unpin + Send + 'static;

    /// Runs the echo or broadcast mode's handler ([`server::run_modes`]).
    fn run_modes<E, HE, FE, B, HB, FB>(name: &str, echo: E, broadcast: B) -> !
    where
        E: FnOnce(&ServerArgs) -> HE,
        HE: Fn(Self::TcpStream) -> FE + 'static,
        FE: Future<Output = ()> + Send + 'static,
        B: FnOnce(&ServerArgs) -> HB,
        HB: Fn(Self::TcpStream) -> FB + 'static,
        FB: Future<Output = ()> + Send + 'static;
}

/// tokio's harness: a `current_thread` runtime ([`server::run_modes`]).
#[derive(Debug)]
pub enum TokioHarness {}

impl Harness for TokioHarness {
    type TcpStream = tokio::net::TcpStream;

    fn run_modes<E, HE, FE, B, HB, FB>(name: &str, echo: E, broadcast: B) -> !
    where
        E: FnOnce(&ServerArgs) -> HE,
        HE: Fn(Self::TcpStream) -> FE + 'static,
        FE: Future<Output = ()> + Send + 'static,
        B: FnOnce(&ServerArgs) -> HB,
        HB: Fn(Self::TcpStream) -> FB + 'static,
        FB: Future<Output = ()> + Send + 'static,
    {
        server::run_modes(name, echo, broadcast)
    }
}

/// smol's harness: a local executor on one thread ([`server::run_smol_modes`]).
#[derive(Debug)]
pub enum SmolHarness {}

impl Harness for SmolHarness {
    type TcpStream = smol::net::TcpStream;

    fn run_modes<E, HE, FE, B, HB, FB>(name: &str, echo: E, broadcast: B) -> !
    where
        E: FnOnce(&ServerArgs) -> HE,
        HE: Fn(Self::TcpStream) -> FE + 'static,
        FE: Future<Output = ()> + Send + 'static,
        B: FnOnce(&ServerArgs) -> HB,
        HB: Fn(Self::TcpStream) -> FB + 'static,
        FB: Future<Output = ()> + Send + 'static,
    {
        server::run_smol_modes(name, echo, broadcast)
    }
}

/// Runs ropeway's server on runtime `R` (ropeway's binding of it) and harness `H`, as
/// `name`; never returns (the driver stops the process with a signal).
pub fn run<H: Harness, R: Io<H::TcpStream>>(name: &str) -> ! {
    H::run_modes(
        name,
        |args| {
            let config = echo_config(args);
            move |stream| echo::<R, _>(stream, config.clone())
        },
        |_| {
            let config = Arc::new(config());
            let hub = Registry::<R>::new();
            move |stream| pubsub::<R, _>(stream, config.clone(), hub.clone())
        },
    )
}

/// The echo mode's settings, shared as an application would: each connection's task holds
/// a pointer, not a copy.
fn echo_config(args: &ServerArgs) -> Arc<ServerConfig> {
    let mut config = config();
    if args.deflate {
        // The defaults spelled out where they are conditions of the comparison: 15-bit
        // windows and server context takeover (DeflateConfig::default()), the shared level,
        // and every message compressed (threshold 0, as yawc's).
        let deflate = DeflateConfig {
            level: DEFLATE_LEVEL,
            threshold: 0,
            ..DeflateConfig::default()
        };
        config
            .extensions
            .push(Arc::new(DeflateServer::new(deflate)));
    }
    Arc::new(config)
}

/// One echo-mode connection.
async fn echo<R: Io<S>, S: Unpin>(stream: S, config: Arc<ServerConfig>) {
    let Ok(mut ws) = accept_with_config::<R, S>(stream, &config).await else {
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

/// The settings of both modes: the shared limits, and no keep-alive pings (traffic the
/// other contenders don't send).
fn config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.core.limits.max_message_size = MAX_MESSAGE_SIZE;
    config.core.limits.max_frame_size = server::MAX_FRAME_SIZE;
    config.core.keep_alive_interval = None;
    config
}

/// One broadcast-mode connection: routed by path, then publisher, subscriber or both
/// (`/`, uWebSockets' `broadcast_test`).
async fn pubsub<R: Io<S>, S: Unpin>(stream: S, config: Arc<ServerConfig>, hub: Registry<R>) {
    let Ok(incoming) = Incoming::<S, R>::read(stream, &config).await else {
        return;
    };
    let Some(member) = Member::of(incoming.path()) else {
        let _ = incoming
            .respond(plain(http::StatusCode::NOT_FOUND), b"")
            .await;
        return;
    };
    let Ok(mut ws) = incoming.accept(Accept::default()).await else {
        return;
    };
    if member.subscribes {
        // Joined before this task awaits anything after the 101.
        let id = ws.register(&hub);
        hub.join(id, "subscribers");
    }
    while let Some(Ok(message)) = ws.recv().await {
        if !member.publishes {
            continue;
        }
        let prepared = match message {
            Message::Binary(b) => PreparedMessage::new(MessageKind::Binary, b),
            Message::Text(t) => PreparedMessage::new(MessageKind::Text, t.into_bytes()),
            _ => continue,
        };
        hub.broadcast_to("subscribers", &prepared);
    }
}
