//! The cases, one module per concern; each case is `pub async fn name<T: TestRuntime>()`
//! and is listed in [`suite!`](crate::suite).
// A case's name says what it checks; a doc comment on it adds only what the name cannot.
#![allow(missing_docs)]

pub mod api_details;
pub mod backpressure;
pub mod budget;
pub mod cancel;
pub mod close;
pub mod echo;
pub mod fairness;
pub mod groups;
pub mod handshake;
pub mod hardening;
pub mod keepalive;
pub mod peers;
pub mod pieces;
pub mod proxy;
pub mod reconnect;
pub mod shutdown;
pub mod split;
pub mod tls;
