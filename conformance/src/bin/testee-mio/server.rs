//! The echo server role of the ropeway-mio testee (wstest's fuzzingclient tests it): the
//! event-loop server, one loop, echoing every text and binary message; permessage-deflate is
//! accepted when offered (only cases 12.x and 13.x offer it).

use std::sync::Arc;

use ropeway_conformance::core_config;
use ropeway_core::deflate::DeflateServer;
use ropeway_mio::server::{
    Closed, ConnId, Context, Decision, Handler, Incoming, Server, ServerConfig,
};
use ropeway_mio::{Error, Message};

/// Echoes every message; logs how each connection ended for whoever reads testee.log.
#[derive(Clone)]
struct Echo;

impl Handler for Echo {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        if let Err(e) = cx.send(id, message) {
            eprintln!("echo to {id} failed: {e}");
        }
    }

    fn on_close(&mut self, _: &mut Context<'_>, id: ConnId, _: (), closed: Closed) {
        // Errors are mostly the suite's deliberate protocol violations; the report says
        // whether each was handled right.
        if let Some(e) = closed.error {
            eprintln!("connection {id} ended: {e}");
        }
    }

    fn on_error(&mut self, peer: std::net::SocketAddr, error: Error) {
        eprintln!("handshake from {peer} failed: {error}");
    }
}

/// Serves an echo endpoint on `addr` until the process is stopped.
pub fn run(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let config = ropeway_mio::server::Config {
        websocket: ServerConfig {
            core: core_config(),
            extensions: vec![Arc::new(DeflateServer::default())],
            ..ServerConfig::default()
        },
        ..Default::default()
    };
    let server = Server::bind(addr, config)?;
    println!("listening on {addr}");
    server.run(Echo)?;
    Ok(())
}
