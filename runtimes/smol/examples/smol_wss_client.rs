//! A wss:// client with its own trust roots (a PEM file, e.g. a private CA), a custom
//! header (an auth token) and a subprotocol.
//!
//! ```sh
//! cargo run -p ropeway-smol --example smol_wss_client -- wss://host:port/path ROOTS.pem
//! cargo run -p ropeway-smol --example smol_wss_client -- --self-test   # an in-process server
//! ```
//!
//! `ClientConfig::tls` takes any `rustls::ClientConfig` of the rustls this crate was built
//! with (`ropeway_smol::rustls`); the one here comes from the examples' shared helper
//! (`ropeway_dev_tls::client_trusting_pem_file`: ring, exactly the roots in the file).

use std::path::{Path, PathBuf};

use ropeway_dev_tls::{Args, Identity, client_trusting_pem_file};
use ropeway_smol::http::{HeaderName, HeaderValue};
use ropeway_smol::server::{Incoming, ServerConfig};
use ropeway_smol::{Accept, ClientConfig, ClientRequest, Error, Message};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    smol::block_on(run())
}

async fn run() -> Result<(), BoxError> {
    let args = match Args::from_env() {
        Args::Given(args) => args,
        Args::SelfTest => {
            let (url, roots) = start_test_server().await?;
            let result = talk(&url, &roots).await;
            let _ = std::fs::remove_file(&roots);
            result?;
            println!("smol_wss_client self-test: ok");
            return Ok(());
        }
    };
    let [url, roots] = &args[..] else {
        return Err("usage: smol_wss_client wss://HOST:PORT/PATH ROOTS.pem | --self-test".into());
    };
    talk(url, Path::new(roots)).await
}

/// Connects to `url` trusting only the certificates in the PEM file `roots`.
async fn talk(url: &str, roots: &Path) -> Result<(), BoxError> {
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
    let (mut ws, response) = ropeway_smol::connect_with(request, &config).await?;
    println!(
        "connected: {} with subprotocol {:?}",
        response.status(),
        ws.protocol()
    );
    ws.send(Message::text("hello")).await?;
    if let Some(reply) = ws.recv().await {
        println!("received: {:?}", reply?);
    }
    ws.close(None).await?;
    Ok(())
}

/// The self-test's server: a made-up certificate written as PEM to a temporary file; the
/// server checks the header and picks `chat.v1`.
async fn start_test_server() -> Result<(String, PathBuf), BoxError> {
    let identity = Identity::self_signed(&["localhost"])?;
    let pem = std::env::temp_dir().join(format!("ropeway-wss-client-{}.pem", std::process::id()));
    std::fs::write(&pem, identity.leaf_pem())?;
    let acceptor = futures_rustls::TlsAcceptor::from(identity.server_config()?);
    let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    smol::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let incoming =
            Incoming::read(acceptor.accept(tcp).await?, &ServerConfig::default()).await?;
        let token = incoming.request().headers().get("authorization").cloned();
        assert_eq!(
            token.as_ref().map(|t| t.as_bytes()),
            Some(&b"Bearer example-token"[..])
        );
        let protocol = incoming
            .upgrade()?
            .select_protocol(&["chat.v1"])
            .map(str::to_owned);
        let mut ws = incoming
            .accept(Accept {
                protocol,
                ..Accept::default()
            })
            .await?;
        while let Some(message) = ws.recv().await {
            let message = message?;
            if message.is_data() {
                ws.send(message).await?;
            }
        }
        Ok::<_, Error>(())
    })
    .detach();
    Ok((format!("wss://localhost:{port}/chat"), pem))
}
