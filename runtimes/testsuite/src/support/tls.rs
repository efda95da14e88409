//! TLS for `wss://` cases: a certificate made in the test, a server config that presents
//! it, and a client config that trusts exactly it (ring, like the bindings); built by the
//! helper the examples share.

use std::sync::Arc;

use ropeway_dev_tls::{Identity, client_trusting};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A self-signed certificate for `localhost` and its key.
pub fn localhost_certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let identity = Identity::localhost();
    (identity.leaf(), identity.key)
}

/// A TLS server configuration presenting `cert`.
pub fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let identity = Identity {
        chain: vec![cert],
        key,
    };
    identity.server_config().expect("a certificate rcgen made")
}

/// A TLS client configuration that trusts `cert` only.
pub fn trusting(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    client_trusting(vec![cert]).expect("a certificate rcgen made")
}
