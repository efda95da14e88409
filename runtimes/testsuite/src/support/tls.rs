//! TLS for `wss://` cases: a certificate made in the test, a server config that presents
//! it, and a client config that trusts exactly it (ring, like the bindings).

use std::net::SocketAddr;
use std::sync::Arc;

use ropeway_common::ClientConfig;
use ropeway_core::{Message, ServerConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::loopback::listen;
use super::messages::echo;
use crate::runtime::TestRuntime;

/// A self-signed certificate for `localhost` and its key.
pub fn localhost_certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivatePkcs8KeyDer::from(key_pair.serialize_der());
    (cert.der().clone(), PrivateKeyDer::Pkcs8(key))
}

/// The ring crypto provider.
pub fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS server configuration presenting `cert`.
pub fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let config = rustls::ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    Arc::new(config)
}

/// A TLS client configuration that trusts `cert` only.
pub fn trusting(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
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
pub async fn spawn_tls_echo_server<T: TestRuntime>(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> SocketAddr {
    let config = server_config(cert, key);
    let (listener, addr) = listen::<T>().await;
    T::detach(async move {
        while let Ok(tcp) = T::accept_tcp(&listener).await {
            let config = config.clone();
            T::detach(async move {
                let Ok(tls) = T::tls_accept(config, tcp).await else {
                    return;
                };
                // The binding's accept is this function for its own transports.
                let mut ws = ropeway_async::server::accept_with_config::<T::Rt, _>(
                    tls,
                    &ServerConfig::default(),
                )
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
pub async fn tls_echo_server_and_trusting_client<T: TestRuntime>() -> (SocketAddr, ClientConfig) {
    let (cert, key) = localhost_certificate();
    let addr = spawn_tls_echo_server::<T>(cert.clone(), key).await;
    let config = ClientConfig {
        tls: Some(trusting(cert)),
        ..ClientConfig::default()
    };
    (addr, config)
}
