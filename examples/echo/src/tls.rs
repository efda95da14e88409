//! TLS for https:// and wss:// from a PEM certificate chain and key, or a certificate made
//! on the fly (the examples' shared helper builds both).

use std::path::Path;
use std::sync::Arc;

use ropeway_dev_tls::Identity;

/// The names the `--self-signed` certificate is valid for: what a developer types into a
/// browser on the machine that runs the sample.
const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A TLS server configuration serving `cert` (chain) with `key`; each runtime wraps it in
/// its own acceptor.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let identity = Identity::from_pem_files(cert, key)?;
    identity.server_config().map_err(|e| e.to_string())
}

/// A TLS server configuration with a certificate for localhost made now (a fresh key pair
/// each start; nothing is written to disk). For development only: no browser trusts it
/// unless told to.
pub fn self_signed() -> Result<Arc<rustls::ServerConfig>, String> {
    let identity = Identity::self_signed(&SELF_SIGNED_NAMES).map_err(|e| e.to_string())?;
    identity.server_config().map_err(|e| e.to_string())
}
