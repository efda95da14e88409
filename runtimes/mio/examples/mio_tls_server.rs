//! A wss:// event-loop server: rustls runs inside the loop (`Server::with_tls`), the
//! WebSocket over it, and the handler chooses a subprotocol among the client's offers.
//!
//! ```sh
//! cargo run -p ropeway-mio --example mio_tls_server -- CERT.pem KEY.pem   # wss://127.0.0.1:9443
//! cargo run -p ropeway-mio --example mio_tls_server -- --self-test        # a made-up certificate
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use ropeway_dev_tls::{Args, Identity};
use ropeway_mio::client::{self, ClientConfig, ClientRequest};
use ropeway_mio::server::{Config, ConnId, Context, Decision, Handler, Incoming, Server};
use ropeway_mio::{Error, Message};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (self_test, identity, args) = match Args::from_env() {
        Args::SelfTest => (true, Identity::self_signed(&["localhost"])?, vec![]),
        Args::Given(args) => {
            let [cert, key] = &args[..] else {
                return Err("usage: mio_tls_server CERT.pem KEY.pem | --self-test".into());
            };
            let identity = Identity::from_pem_files(Path::new(cert), Path::new(key))?;
            (false, identity, args)
        }
    };
    // Any rustls ServerConfig: the shared helper's uses ring, the provider ropeway's own
    // client uses.
    let tls = identity.server_config()?;
    let server = Server::bind(
        if self_test {
            "127.0.0.1:0"
        } else {
            "127.0.0.1:9443"
        },
        Config::default(),
    )?
    // Every accepted connection does its TLS handshake in the loop, then the WebSocket's.
    .with_tls(tls);
    let addr = server.local_addr()?;
    if !self_test {
        println!(
            "wss://localhost:{} (certificate from {})",
            addr.port(),
            args[0]
        );
        return Ok(server.run(VersionedEcho)?);
    }
    let running = server.spawn(VersionedEcho)?;
    client(addr, identity.trusting_client())?;
    running.stop()?;
    println!("mio_tls_server self-test: ok");
    Ok(())
}

/// Accepts with the subprotocol it prefers among those the client offered, then echoes.
#[derive(Clone)]
struct VersionedEcho;

impl Handler for VersionedEcho {
    type Conn = ();

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<()> {
        let upgrade = request.upgrade();
        let chosen = upgrade
            .as_ref()
            .ok()
            .and_then(|u| u.select_protocol(&["echo.v2", "echo.v1"]));
        match chosen {
            Some(protocol) => Decision::accept_protocol(protocol, ()),
            // A client that offers none of ours (or none at all) gets plain echo.
            None => Decision::accept(()),
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        let _ = cx.send(id, message);
    }
}

/// The self-test's client: the blocking client, trusting exactly the made-up certificate.
fn client(addr: SocketAddr, tls: Arc<rustls::ClientConfig>) -> Result<(), Error> {
    let config = ClientConfig {
        tls: Some(tls),
        ..ClientConfig::default()
    };
    let request =
        ClientRequest::from_url(&format!("wss://localhost:{}/", addr.port()))?.protocol("echo.v1");
    let (mut ws, _) = client::connect_with(request, &config, Default::default())?;
    assert_eq!(ws.protocol(), Some("echo.v1"));
    ws.send(Message::text("over TLS"))?;
    let echoed = ws.recv().ok_or(Error::Closed)??;
    assert_eq!(echoed.as_text(), Some("over TLS"));
    ws.close(None)
}
