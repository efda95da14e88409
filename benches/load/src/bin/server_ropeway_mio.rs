//! Echo server on ropeway-mio: the event-loop server with one loop (one thread, as the
//! other contenders' single-threaded runtimes), and a [`Handler`] that echoes each message
//! with `cx.send`, as the crate's own docs do. `--deflate` adds ropeway's permessage-deflate
//! negotiator with the same settings as the ropeway-tokio server.
//!
//! `--broadcast`: `on_request` routes by path (`/` both publishes and subscribes, for
//! uWebSockets' `broadcast_test`); subscribers join a group in `on_open`, and
//! each of the publisher's messages is framed once (`PreparedMessage`) and queued on the
//! group with `cx.broadcast_to`, the crate's own fan-out: no task, channel or copy per
//! subscriber, and the loop writes each subscriber's queued messages once per turn.
//!
//! Not on tokio, so not on [`server::run`]: the shared parts (command line, fd limit, exit
//! with the driver, `READY` line) come from [`server::setup`] and [`server::ready`]. The
//! listener is bound here with the same backlog as tokio's (1,024; std's `bind` uses 128).

use std::net::SocketAddr;
use std::sync::Arc;

use ropeway_bench_load::server::{self, DEFLATE_LEVEL, MAX_MESSAGE_SIZE, Member};
use ropeway_core::deflate::{DeflateConfig, DeflateServer};
use ropeway_mio::server::{Config, ConnId, Context, Decision, Handler, Incoming, Server};
use ropeway_mio::{Message, MessageKind, PreparedMessage};
use socket2::{Domain, Protocol, Socket, Type};

/// The group every subscriber joins.
const SUBSCRIBERS: &str = "subscribers";

/// Echoes every text and binary message.
#[derive(Clone)]
struct Echo;

impl Handler for Echo {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        if message.is_data() {
            // Queued; the loop writes it at the end of the turn.
            let _ = cx.send(id, message);
        }
    }
}

/// Publish/subscribe: the publisher's messages go to every subscriber.
#[derive(Clone)]
struct PubSub;

impl Handler for PubSub {
    type Conn = Member;

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<Member> {
        match Member::of(request.path()) {
            Some(member) => Decision::accept(member),
            None => Decision::Reject(http::StatusCode::NOT_FOUND),
        }
    }

    fn on_open(&mut self, cx: &mut Context<'_>, id: ConnId, member: &mut Member) {
        if member.subscribes {
            cx.join(id, SUBSCRIBERS);
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_>, _: ConnId, m: &mut Member, message: Message) {
        if !m.publishes {
            return;
        }
        let prepared = match message {
            Message::Binary(b) => PreparedMessage::new(MessageKind::Binary, b),
            Message::Text(t) => PreparedMessage::new(MessageKind::Text, t.into_bytes()),
            _ => return,
        };
        cx.broadcast_to(SUBSCRIBERS, &prepared);
    }
}

fn main() {
    let args = server::setup();
    let mut config = Config::default();
    let ws = &mut config.websocket;
    ws.core.limits.max_message_size = MAX_MESSAGE_SIZE;
    ws.core.limits.max_frame_size = server::MAX_FRAME_SIZE;
    // Keep-alive pings would be traffic the other contenders don't send; all are off.
    ws.core.keep_alive_interval = None;
    if args.deflate {
        // The same conditions as the other deflate contenders: 15-bit windows, server
        // context takeover, the shared level, every message compressed.
        let deflate = DeflateConfig {
            level: DEFLATE_LEVEL,
            threshold: 0,
            ..DeflateConfig::default()
        };
        ws.extensions.push(Arc::new(DeflateServer::new(deflate)));
    }
    let result = listen(args.addr).and_then(|listener| {
        let server = Server::from_listeners(vec![listener], config)?;
        server::ready(server.local_addr()?)?;
        if args.broadcast {
            server.run(PubSub)
        } else {
            server.run(Echo)
        }
    });
    if let Err(e) = result {
        eprintln!("ropeway-mio: {e}");
        std::process::exit(1);
    }
}

/// A listener as tokio's `TcpListener::bind` makes it: `SO_REUSEADDR`, backlog 1,024.
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}
