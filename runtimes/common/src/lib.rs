//! What every ropeway runtime adapter shares beyond the sans-IO core: the client's settings,
//! the TLS defaults, the accept loop's backoff on descriptor exhaustion, and the OS-seeded
//! randomness the core takes as an input. The protocol and connection policy are the core's
//! ([`ropeway_core::driver`]); nothing here decides anything about a connection.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod accept_backoff;
mod client_config;
mod entropy;
mod inbound;
mod outbound;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;

pub use accept_backoff::{AcceptAction, AcceptBackoff, is_resource_exhaustion};
pub use client_config::ClientConfig;
pub use entropy::{jitter_entropy, os_seeded_entropy};
pub use ropeway_core::proxy::{NoProxy, Proxy, ProxyConfig, ProxyError};

/// The error for `wss://` in a build without the `tls` feature.
pub fn tls_not_built() -> ropeway_core::Error {
    ropeway_core::Error::Tls(ropeway_core::driver::TlsError::from_kind(
        ropeway_core::driver::TlsErrorKind::NotBuilt,
    ))
}
pub use inbound::{Inbound, ReadState, Step};
pub use outbound::{Outbound, TrySendError};
