//! ropeway without async: a mio event-loop server that serves many connections from one
//! thread per core with no task, future or buffer per idle connection, and a blocking client.
//!
//! A thin binding: the core's [`ropeway_core::driver::Driver`] decides every step of a
//! connection; this crate carries the steps out with mio readiness events and a deadline
//! structure per loop (server), or blocking sockets with timeouts (client).
#![forbid(unsafe_code)]

pub mod client;
pub mod server;
