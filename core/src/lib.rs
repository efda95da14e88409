//! ropeway-core: the sans-IO WebSocket protocol.
#![deny(unsafe_code)]
#[allow(unsafe_code)]
pub mod mask;
