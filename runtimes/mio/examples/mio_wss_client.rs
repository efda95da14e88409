//! A wss:// blocking client with its own trust roots (a PEM file, e.g. a private CA), a
//! custom header (an auth token) and subprotocols offered in order of preference.
//!
//! ```sh
//! cargo run -p ropeway-mio --example mio_wss_client -- wss://host:port/path ROOTS.pem
//! cargo run -p ropeway-mio --example mio_wss_client -- --self-test   # an event-loop server here
//! ```

use std::path::{Path, PathBuf};

use http::{HeaderName, HeaderValue};
use ropeway_dev_tls::{Args, Identity, client_trusting_pem_file};
use ropeway_mio::Message;
use ropeway_mio::client::{self, ClientConfig, ClientRequest};
use ropeway_mio::server::{
    Config, ConnId, Context, Decision, Handler, Incoming, Running, Server, StatusCode,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let args = match Args::from_env() {
        Args::Given(args) => args,
        Args::SelfTest => {
            let (url, roots, running) = start_test_server()?;
            let result = talk(&url, &roots);
            let _ = std::fs::remove_file(&roots);
            let protocol = result?;
            assert_eq!(protocol.as_deref(), Some("chat.v1"), "the server's choice");
            running.stop()?;
            println!("mio_wss_client self-test: ok");
            return Ok(());
        }
    };
    let [url, roots] = &args[..] else {
        return Err("usage: mio_wss_client wss://HOST:PORT/PATH ROOTS.pem | --self-test".into());
    };
    talk(url, Path::new(roots))?;
    Ok(())
}

/// Connects to `url` trusting only the certificates in the PEM file `roots`, says hello;
/// returns the subprotocol the server chose.
fn talk(url: &str, roots: &Path) -> Result<Option<String>, BoxError> {
    // Any rustls ClientConfig: here ring with exactly the roots in the file.
    let config = ClientConfig {
        tls: Some(client_trusting_pem_file(roots)?),
        ..ClientConfig::default()
    };
    let request = ClientRequest::from_url(url)?
        .protocol("chat.v2") // offered in order of preference
        .protocol("chat.v1")
        .header(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer example-token"),
        );
    let (mut ws, response) = client::connect_with(request, &config, Default::default())?;
    println!(
        "connected: {} with subprotocol {:?}",
        response.status(),
        ws.protocol()
    );
    ws.send(Message::text("hello"))?;
    if let Some(reply) = ws.recv() {
        println!("received: {:?}", reply?);
    }
    let protocol = ws.protocol().map(str::to_owned);
    ws.close(None)?;
    Ok(protocol)
}

/// The self-test's server: an event-loop server over TLS with a made-up certificate,
/// written as PEM to a temporary file for the client to trust.
fn start_test_server() -> Result<(String, PathBuf, Running), BoxError> {
    let identity = Identity::self_signed(&["localhost"])?;
    let pem =
        std::env::temp_dir().join(format!("ropeway-mio-wss-client-{}.pem", std::process::id()));
    std::fs::write(&pem, identity.leaf_pem())?;
    let server =
        Server::bind("127.0.0.1:0", Config::default())?.with_tls(identity.server_config()?);
    let port = server.local_addr()?.port();
    let running = server.spawn(Authorized)?;
    Ok((format!("wss://localhost:{port}/chat"), pem, running))
}

/// Lets in only requests with the example's token; speaks `chat.v1` only; echoes.
#[derive(Clone)]
struct Authorized;

impl Handler for Authorized {
    type Conn = ();

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<()> {
        let token = request.headers().get("authorization");
        if token.map(HeaderValue::as_bytes) != Some(b"Bearer example-token") {
            return Decision::Reject(StatusCode::UNAUTHORIZED);
        }
        let upgrade = request.upgrade();
        match upgrade
            .as_ref()
            .ok()
            .and_then(|u| u.select_protocol(&["chat.v1"]))
        {
            Some(protocol) => Decision::accept_protocol(protocol, ()),
            None => Decision::Reject(StatusCode::BAD_REQUEST),
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        let _ = cx.send(id, message);
    }
}
