//! A wss:// event-loop server: rustls runs inside the loop (`Server::with_tls`), the
//! WebSocket over it, and the handler chooses a subprotocol among the client's offers.
//!
//! ```sh
//! cargo run -p ropeway-mio --example mio_tls_server -- CERT.pem KEY.pem   # wss://127.0.0.1:9443
//! cargo run -p ropeway-mio --example mio_tls_server -- --self-test        # a made-up certificate
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use ropeway_mio::client::{self, ClientConfig, ClientRequest};
use ropeway_mio::server::{Config, ConnId, Context, Decision, Handler, Incoming, Server};
use ropeway_mio::{Error, Message};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let self_test = args.first().map(String::as_str) == Some("--self-test");
    let (certs, key) = if self_test {
        made_up_certificate()
    } else {
        let [cert, key] = &args[..] else {
            return Err("usage: mio_tls_server CERT.pem KEY.pem | --self-test".into());
        };
        let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
        (certs, PrivateKeyDer::from_pem_file(key)?)
    };
    // The provider ropeway's own client uses (ring); any rustls provider works here.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs.clone(), key)?;
    let server = Server::bind(
        if self_test {
            "127.0.0.1:0"
        } else {
            "127.0.0.1:9443"
        },
        Config::default(),
    )?
    // Every accepted connection does its TLS handshake in the loop, then the WebSocket's.
    .with_tls(Arc::new(tls));
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
    client(addr, certs[0].clone())?;
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
fn client(addr: SocketAddr, cert: CertificateDer<'static>) -> Result<(), Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("a valid certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let config = ClientConfig {
        tls: Some(Arc::new(tls)),
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

/// A self-signed certificate for localhost (the self-test only).
fn made_up_certificate() -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    let key = PrivateKeyDer::Pkcs8(key_pair.serialize_der().into());
    (vec![cert.der().clone()], key)
}
