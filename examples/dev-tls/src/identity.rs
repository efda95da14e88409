//! A server's identity (certificate chain and key), made up or read from PEM files, the
//! rustls server settings that present it and client settings that trust it.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The ring crypto provider (what ropeway's client uses; any provider works with it).
pub fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its private key.
#[derive(Debug)]
pub struct Identity {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// A self-signed certificate for `names` (host names or IP addresses) with a fresh key.
    pub fn self_signed(names: &[&str]) -> Result<Identity, rcgen::Error> {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(names)?;
        let key = PrivatePkcs8KeyDer::from(key_pair.serialize_der());
        Ok(Identity {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(key),
        })
    }

    /// A self-signed certificate for `localhost`, for tests (rcgen does not fail on it).
    pub fn localhost() -> Identity {
        Identity::self_signed(&["localhost"]).expect("rcgen makes a certificate for localhost")
    }

    /// Reads a PEM certificate chain and a PEM private key; an error names the file.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Identity, String> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        let key =
            PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
        Ok(Identity { chain, key })
    }

    /// The leaf certificate.
    pub fn leaf(&self) -> CertificateDer<'static> {
        self.chain[0].clone()
    }

    /// The leaf certificate as PEM, to write where a client reads its roots from.
    pub fn leaf_pem(&self) -> String {
        let encoded = base64::engine::general_purpose::STANDARD.encode(self.chain[0].as_ref());
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        // PEM lines hold 64 characters of base64 (RFC 7468); base64 is ASCII.
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// rustls server settings presenting this identity, no client authentication.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let config = rustls::ServerConfig::builder_with_provider(ring())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        Ok(Arc::new(config))
    }

    /// rustls client settings that trust exactly this identity's leaf.
    pub fn trusting_client(&self) -> Arc<rustls::ClientConfig> {
        client_trusting(vec![self.leaf()]).expect("a certificate rcgen or rustls parsed")
    }
}

/// rustls client settings that trust exactly `roots`.
pub fn client_trusting(
    roots: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// rustls client settings that trust exactly the certificates in the PEM file `roots` (a
/// private CA, or a server's self-signed certificate).
pub fn client_trusting_pem_file(
    roots: &Path,
) -> Result<Arc<rustls::ClientConfig>, Box<dyn Error + Send + Sync>> {
    let certs = CertificateDer::pem_file_iter(roots)?.collect::<Result<Vec<_>, _>>()?;
    Ok(client_trusting(certs)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_up_leaf_round_trips_through_pem() {
        let identity = Identity::localhost();
        let pem = identity.leaf_pem();
        let parsed = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(parsed, vec![identity.leaf()]);
    }

    #[test]
    fn both_sides_build_from_a_made_up_identity() {
        let identity = Identity::localhost();
        identity.server_config().unwrap();
        identity.trusting_client();
    }
}
