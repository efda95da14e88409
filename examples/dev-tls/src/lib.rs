//! Made-up certificates and rustls settings for ropeway's examples, tests and the sample
//! app, written once instead of in every program that needs a `wss://` peer.
//!
//! Development only: a self-signed certificate is trusted by nobody unless told to, and
//! these settings use ring, the provider ropeway's own client uses.

mod identity;
mod self_test;

pub use identity::{Identity, client_trusting, client_trusting_pem_file, ring};
pub use self_test::Args;
