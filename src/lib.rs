//! ropeway: a WebSocket library (RFC 6455) built as a sans-IO protocol core plus thin
//! runtime adapters.
//!
//! This facade re-exports [`ropeway_core`] as [`core`] and, per cargo feature, a runtime
//! adapter. Most applications depend on this crate only.
#![forbid(unsafe_code)]

pub use ropeway_core as core;
