//! Side-by-side load benchmark of Rust WebSocket servers.
//!
//! The crate holds three kinds of binaries:
//!
//! - `server_<name>`: one echo server per contender crate, all built on
//!   [`server::run`] so that everything except the crate-specific echo loop
//!   (runtime, listener, `TCP_NODELAY`, limits, `READY` line) is shared;
//! - `loadgen`: a single-threaded mio load generator, cheaper per message
//!   than the servers it drives;
//! - `driver`: runs every contender through every case, in interleaved order,
//!   and writes `benches/results/latest.{md,json,svg}`.
//!
//! See `benches/load/README.md` for the command, the columns and the caveats.

pub mod callgrind;
pub mod cli;
pub mod deflate;
pub mod procfs;
pub mod readme;
pub mod report;
pub mod ropeway_server;
pub mod server;
pub mod wire;

/// A server under test: a display name, its binary, and the crate it measures.
#[derive(Debug, Clone, Copy)]
pub struct Contender {
    /// Name used in tables and on the command line (`--baseline`, `--contenders`).
    pub name: &'static str,
    /// The server binary, `server_<name>`.
    pub bin: &'static str,
    /// The crate it measures (its version is read from Cargo.lock for the report).
    pub krate: &'static str,
    /// It supports permessage-deflate (RFC 7692): its server takes `--deflate`
    /// and it runs the compression cases; the others are left out of those.
    pub deflate: bool,
    /// Not a cargo binary: built by `benches/load/uws/build.sh` from uWebSockets' C++
    /// sources. Left out of the default set (with a note) when that script has not run.
    pub external: bool,
    /// Its `--broadcast` server also takes clients on `/` that publish to everyone
    /// (uWebSockets' `broadcast_test`, all-to-all); the others sit out the broadcast cases
    /// under `--generator uws`.
    pub all_to_all: bool,
}

/// The contenders, in run order (uWebSockets last: the field's reference, a C++ server
/// built apart). Adding one is one line here plus its
/// `src/bin/server_<name>.rs` built on [`server::run`] (or, for a server with its own
/// event loop, on [`server::setup`] and [`server::ready`]).
#[rustfmt::skip]
pub const CONTENDERS: &[Contender] = &[
    Contender { name: "ropeway", bin: "server_ropeway", krate: "ropeway-tokio", deflate: true, external: false, all_to_all: true },
    Contender { name: "ropeway-mio", bin: "server_ropeway_mio", krate: "ropeway-mio", deflate: true, external: false, all_to_all: true },
    Contender { name: "ropeway-smol", bin: "server_ropeway_smol", krate: "ropeway-smol", deflate: true, external: false, all_to_all: true },
    Contender { name: "tokio-tungstenite", bin: "server_tokio_tungstenite", krate: "tokio-tungstenite", deflate: false, external: false, all_to_all: false },
    Contender { name: "fastwebsockets", bin: "server_fastwebsockets", krate: "fastwebsockets", deflate: false, external: false, all_to_all: false },
    Contender { name: "tokio-websockets", bin: "server_tokio_websockets", krate: "tokio-websockets", deflate: false, external: false, all_to_all: false },
    Contender { name: "sockudo-ws", bin: "server_sockudo_ws", krate: "sockudo-ws", deflate: false, external: false, all_to_all: false },
    Contender { name: "yawc", bin: "server_yawc", krate: "yawc", deflate: true, external: false, all_to_all: false },
    Contender { name: "uws", bin: "server_uws", krate: "uWebSockets", deflate: false, external: true, all_to_all: true },
];
