//! `wss://` on the event loop: rustls driven from the loop, with a certificate made in the
//! test and the blocking client trusting exactly that certificate.
#![cfg(feature = "tls")]

mod server_support;

use std::sync::Arc;

use ropeway_common::ClientConfig;
use ropeway_mio::client::{self, ClientRequest};
use ropeway_mio::server::{Config, Server};
use ropeway_mio::{Bytes, Message};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use server_support::Echo;

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[test]
fn wss_echoes_small_and_large_messages_over_rustls_in_the_loop() {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
    let cert: CertificateDer<'static> = cert.der().clone();
    let server_tls = rustls::ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("a server config");
    let server = Server::bind("127.0.0.1:0", Config::default())
        .expect("bind")
        .with_tls(Arc::new(server_tls));
    let port = server.local_addr().expect("addr").port();
    let running = server.spawn(Echo).expect("spawn");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("a root");
    let client_tls = rustls::ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let config = ClientConfig {
        tls: Some(Arc::new(client_tls)),
        ..ClientConfig::default()
    };
    let request = ClientRequest::from_url(&format!("wss://localhost:{port}/ws")).expect("url");
    let (mut ws, _) = client::connect_with(request, &config, Default::default()).expect("connect");
    for len in [0, 5, 20_000, 1 << 20] {
        let payload = Bytes::from(vec![b'x'; len]);
        ws.send(Message::Binary(payload.clone())).expect("send");
        assert_eq!(
            ws.recv().expect("echo").expect("ok"),
            Message::Binary(payload)
        );
    }
    ws.close(None).expect("close");
    running.stop().expect("the loop ended cleanly");
}
