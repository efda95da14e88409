//! Test support shared by this crate's tests.
pub mod redis_server;
