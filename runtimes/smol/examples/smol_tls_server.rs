//! A wss:// server: rustls terminates TLS (futures-rustls), ropeway runs the WebSocket over
//! the TLS stream, and subprotocols are chosen among the client's offers.
//!
//! ```sh
//! cargo run -p ropeway-smol --example smol_tls_server -- CERT.pem KEY.pem   # wss://127.0.0.1:9443
//! cargo run -p ropeway-smol --example smol_tls_server -- --self-test        # a made-up certificate
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use futures_rustls::TlsAcceptor;
use ropeway_dev_tls::{Args, Identity};
use ropeway_smol::rustls;
use ropeway_smol::server::{Incoming, ServerConfig};
use ropeway_smol::{Accept, ClientConfig, ClientRequest, Error, Message};
use smol::net::TcpListener;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (self_test, identity, args) = match Args::from_env() {
        Args::SelfTest => (true, Identity::self_signed(&["localhost"])?, vec![]),
        Args::Given(args) => {
            let [cert, key] = &args[..] else {
                return Err("usage: smol_tls_server CERT.pem KEY.pem | --self-test".into());
            };
            let identity = Identity::from_pem_files(Path::new(cert), Path::new(key))?;
            (false, identity, args)
        }
    };
    // Any rustls ServerConfig: the shared helper's uses ring, the provider ropeway's own
    // client uses.
    let tls = identity.server_config()?;
    let acceptor = TlsAcceptor::from(tls);
    let listener = TcpListener::bind(if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:9443"
    })
    .await?;
    let addr = listener.local_addr()?;
    smol::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            smol::spawn(async move {
                // TLS first; then the WebSocket handshake runs inside the TLS stream.
                let result = match acceptor.accept(tcp).await {
                    Ok(tls) => serve(tls).await,
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = result {
                    eprintln!("connection: {e}");
                }
            })
            .detach();
        }
    })
    .detach();
    if !self_test {
        println!(
            "wss://localhost:{} (certificate from {})",
            addr.port(),
            args[0]
        );
        std::future::pending::<()>().await;
    }
    client(addr, identity.trusting_client()).await?;
    println!("smol_tls_server self-test: ok");
    Ok(())
}

/// One connection: accept with a subprotocol the client offered, then echo.
async fn serve(tls: futures_rustls::server::TlsStream<smol::net::TcpStream>) -> Result<(), Error> {
    let incoming = Incoming::read(tls, &ServerConfig::default()).await?;
    let protocol = incoming
        .upgrade()?
        .select_protocol(&["echo.v2", "echo.v1"])
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
    Ok(())
}

/// The self-test's client: `tls` trusts exactly the made-up certificate.
async fn client(addr: SocketAddr, tls: Arc<rustls::ClientConfig>) -> Result<(), Error> {
    let config = ClientConfig {
        tls: Some(tls),
        ..ClientConfig::default()
    };
    let request =
        ClientRequest::from_url(&format!("wss://localhost:{}/", addr.port()))?.protocol("echo.v1");
    let (mut ws, _) = ropeway_smol::connect_with(request, &config).await?;
    assert_eq!(ws.protocol(), Some("echo.v1"));
    ws.send(Message::text("over TLS")).await?;
    let echoed = ws.recv().await.ok_or(Error::Closed)??;
    assert_eq!(echoed.as_text(), Some("over TLS"));
    ws.close(None).await
}
