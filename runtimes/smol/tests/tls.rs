//! `wss://`: a futures-rustls server with a certificate made in the test, and the ropeway
//! client trusting exactly that certificate.
#![cfg(feature = "tls")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use futures_rustls::TlsAcceptor;
use ropeway_smol::server::{ServerConfig, accept_with_config};
use ropeway_smol::{ClientConfig, ClientRequest, CloseFrame, Error, Message};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed certificate for `localhost` and its key.
fn localhost_certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivatePkcs8KeyDer::from(key_pair.serialize_der());
    (cert.der().clone(), PrivateKeyDer::Pkcs8(key))
}

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS client configuration that trusts `cert` only.
fn trusting(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A wss:// server on 127.0.0.1 that greets each client with "hello over TLS", then echoes.
async fn spawn_tls_echo_server(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let (listener, addr) = listen().await;
    spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut ws = accept_with_config(tls, &ServerConfig::default())
                    .await
                    .unwrap();
                ws.send(Message::text("hello over TLS")).await.unwrap();
                let _ = echo(ws).await;
            });
        }
    });
    addr
}

/// A TLS echo server with a fresh localhost certificate, and a client configuration that
/// trusts that certificate.
async fn tls_echo_server_and_trusting_client() -> (SocketAddr, ClientConfig) {
    let (cert, key) = localhost_certificate();
    let addr = spawn_tls_echo_server(cert.clone(), key).await;
    let config = ClientConfig {
        tls: Some(trusting(cert)),
        ..ClientConfig::default()
    };
    (addr, config)
}

fn wss_request(host: &str, addr: SocketAddr) -> ClientRequest {
    ClientRequest::from_url(&format!("wss://{host}:{}/", addr.port())).unwrap()
}

#[test]
fn a_ropeway_client_echoes_over_wss_with_a_trusted_certificate() {
    run(async {
        let (addr, config) = tls_echo_server_and_trusting_client().await;
        let (mut ws, response) =
            ropeway_smol::connect_with(wss_request("localhost", addr), &config)
                .await
                .unwrap();
        assert_eq!(response.status(), 101);
        assert!(matches!(ws.get_ref(), ropeway_smol::MaybeTlsStream::Tls(_)));
        // Server to client, then client to server and back.
        assert_eq!(recv(&mut ws).await, Message::text("hello over TLS"));
        assert_echoes(&mut ws, &[0, 125, 126, 65536, 1 << 20], "wss").await;
        ws.close(Some(CloseFrame::new(1000, "tls done")))
            .await
            .unwrap();
        assert_ends_cleanly(&mut ws).await;
    });
}

#[test]
fn a_client_that_does_not_trust_the_certificate_fails_with_a_tls_error() {
    run(async {
        let (cert, key) = localhost_certificate();
        let addr = spawn_tls_echo_server(cert, key).await;
        // The default configuration trusts the webpki roots, which did not sign this one.
        let result =
            ropeway_smol::connect_with(wss_request("localhost", addr), &ClientConfig::default())
                .await;
        assert!(matches!(result, Err(Error::Tls(_))), "{result:?}");
    });
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    run(async {
        let (addr, config) = tls_echo_server_and_trusting_client().await;
        // The certificate names localhost, not 127.0.0.1.
        let result = ropeway_smol::connect_with(wss_request("127.0.0.1", addr), &config).await;
        assert!(matches!(result, Err(Error::Tls(_))), "{result:?}");
    });
}
