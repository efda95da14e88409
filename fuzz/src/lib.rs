//! Shared pieces of ropeway's fuzz targets: how an input is read ([`script`]), the settings
//! and the in-memory opening handshake ([`setup`]), the invariants checked besides "never
//! panics" ([`check`]), and the engines of the connection targets ([`connection`], [`driver`]) and the
//! handshake targets ([`handshake`]) and the proxy target ([`proxy`]).
//!
//! Every target must never panic on any input: a panic, here or in the core, is a bug.
#![forbid(unsafe_code)]

pub mod backplane;
pub mod check;
pub mod connection;
pub mod driver;
pub mod handshake;
pub mod proxy;
pub mod script;
pub mod setup;
