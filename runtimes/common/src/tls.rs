//! TLS defaults for `wss://` clients, shared by every runtime.

use std::sync::Arc;

use ropeway_core::Error;
use ropeway_core::driver::{TlsError, TlsErrorKind};

/// A TLS client configuration that trusts the webpki (Mozilla) roots, with the ring provider.
pub fn default_client_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    // The ring provider supports the default protocol versions; this cannot fail.
    Arc::new(config.unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3")))
}

/// What a client's TLS handshake needs for `host`: the client's TLS settings (the webpki
/// roots unless it brought its own) and the name to verify.
pub fn client_setup(
    config: &crate::ClientConfig,
    host: &str,
) -> Result<
    (
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    ),
    Error,
> {
    let tls = config.tls.clone().unwrap_or_else(default_client_config);
    Ok((tls, server_name(host)?))
}

/// The server name to verify for `host`.
pub fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| Error::Tls(TlsError::new(TlsErrorKind::InvalidServerName, e)))
}

/// The error for a failed TLS client handshake: the `rustls::Error` inside the I/O error as
/// the source, with a kind to match on; a plain-HTTP answer (`wss://` to a `ws://` port:
/// rustls sees "HTTP/1.1 …" where a TLS record header belongs) says so. I/O errors that are
/// not TLS's (a reset, end of stream) stay I/O errors.
pub fn handshake_error(error: std::io::Error) -> Error {
    if !error.get_ref().is_some_and(|e| e.is::<rustls::Error>()) {
        return Error::Io(error);
    }
    match error
        .into_inner()
        .map(|inner| inner.downcast::<rustls::Error>())
    {
        Some(Ok(tls)) => {
            let kind = match *tls {
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
                    TlsErrorKind::ServerSpeaksPlain
                }
                _ => TlsErrorKind::Handshake,
            };
            Error::Tls(TlsError::new(kind, *tls))
        }
        // Checked above: the inner error is rustls'.
        _ => Error::Tls(TlsError::from_kind(TlsErrorKind::Handshake)),
    }
}
