//! What every ropeway runtime adapter shares beyond the sans-IO core: the client's settings,
//! the TLS defaults, and the OS-seeded randomness the core takes as an input. The protocol
//! and connection policy are the core's ([`ropeway_core::driver`]); nothing here decides
//! anything about a connection.
#![forbid(unsafe_code)]

mod client_config;
mod entropy;
#[cfg(feature = "tls")]
pub mod tls;

pub use client_config::ClientConfig;
pub use entropy::os_seeded_entropy;
