//! Everything the echo servers share: the command line, the runtime, the
//! listener, socket options, limits and the `READY` line.
//!
//! A contender's binary only supplies what is specific to its crate: the
//! handshake call and the echo loop. That keeps the conditions identical:
//!
//! - a tokio `current_thread` runtime (one thread does all the work); for the
//!   smol contender ([`run_smol_with_args`]), a smol `LocalExecutor` under
//!   `smol::block_on`, which drives the async-io reactor on the same thread;
//! - `TCP_NODELAY` on every accepted socket;
//! - each connection in its own task, spawned with [`spawn`], which also
//!   opts out of tokio's cooperative budget (as the fast crates' own
//!   benchmark servers do) — the same for every contender;
//! - a 64 MiB message limit ([`MAX_MESSAGE_SIZE`]) and the same frame limit
//!   where the crate has one ([`MAX_FRAME_SIZE`]);
//! - listening on a loopback address only;
//! - with `--deflate` (crates that support it): permessage-deflate at
//!   [`DEFLATE_LEVEL`], 15-bit windows, context takeover kept on the server
//!   side, every message compressed (no size threshold).

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use tokio::net::{TcpListener, TcpStream};

use crate::cli::{Flags, die, raise_fd_limit};

/// Largest message (reassembled payload) every server accepts: 64 MiB.
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// Largest single frame payload, for crates that limit frames separately.
pub const MAX_FRAME_SIZE: usize = MAX_MESSAGE_SIZE;

/// The soft file-descriptor limit the servers ask for (idle case: 10,000 connections).
pub const FD_LIMIT: u64 = 65_536;

/// The zlib compression level of every server with `--deflate` (zlib's default).
pub const DEFLATE_LEVEL: u32 = 6;

/// When this variable is set (the driver sets it), a server exits as soon as
/// the process that started it is gone, so a killed driver leaves no server behind.
pub const EXIT_WITH_PARENT_ENV: &str = "ROPEWAY_BENCH_EXIT_WITH_PARENT";

const USAGE: &str = "usage: server_<name> --addr 127.0.0.1:PORT [--deflate]

Echoes every text and binary message back with the same opcode.
PORT 0 picks a free port; the line `READY <addr>` on stdout says the server listens.
--deflate accepts permessage-deflate (RFC 7692); servers whose crate lacks it refuse it.";

/// The server's command line.
#[derive(Debug, Clone)]
pub struct ServerArgs {
    /// Loopback address to listen on.
    pub addr: SocketAddr,
    /// `--deflate`: accept permessage-deflate (see the module docs for the settings).
    pub deflate: bool,
}

impl ServerArgs {
    /// Parses `--addr 127.0.0.1:PORT [--deflate]`; only loopback addresses are accepted.
    pub fn parse(mut flags: Flags) -> Result<Self, String> {
        let addr: SocketAddr = flags
            .parsed("addr")?
            .ok_or_else(|| "--addr is required".to_owned())?;
        let deflate = flags.switch("deflate");
        flags.finish()?;
        if !addr.ip().is_loopback() {
            return Err(format!("{addr} is not a loopback address"));
        }
        Ok(Self { addr, deflate })
    }
}

/// Spawns a connection task on the current runtime, outside tokio's
/// cooperative budget. Every contender spawns its connections through here.
pub fn spawn<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(tokio::task::unconstrained(fut));
}

/// Runs an echo server for a crate without permessage-deflate: as
/// [`run_with_args`], and `--deflate` is refused with an error (exit status 2).
pub fn run<H, F>(name: &str, handle: H) -> !
where
    H: Fn(TcpStream) -> F + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    run_with_args(name, |args| {
        if args.deflate {
            let msg =
                format!("{name} does not support permessage-deflate (RFC 7692): --deflate refused");
            die(&msg, USAGE);
        }
        handle
    })
}

/// Runs an echo server: parses the command line, lets `make` build the
/// connection handler from it (e.g. with compression for `--deflate`), raises
/// the fd limit, builds a `current_thread` runtime, listens, prints
/// `READY <addr>` and hands every accepted socket (with `TCP_NODELAY` set) to
/// the handler in its own task.
///
/// Never returns; the driver stops the process with a signal.
pub fn run_with_args<M, H, F>(name: &str, make: M) -> !
where
    M: FnOnce(&ServerArgs) -> H,
    H: Fn(TcpStream) -> F + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let args = ServerArgs::parse(Flags::from_env()).unwrap_or_else(|e| die(&e, USAGE));
    let handle = make(&args);
    raise_fd_limit(FD_LIMIT);
    if std::env::var_os(EXIT_WITH_PARENT_ENV).is_some() {
        exit_with_parent();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| die(&format!("cannot build the runtime: {e}"), USAGE));
    let result: std::io::Result<()> = rt.block_on(async move {
        let listener = TcpListener::bind(args.addr).await?;
        let local = listener.local_addr()?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "READY {local}")?;
            out.flush()?;
        }
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        eprintln!("{name}: set_nodelay: {e}");
                    }
                    spawn(handle(stream));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    eprintln!("{name}: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    });
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1)
        }
    }
}

/// Runs an echo server on smol, under the same conditions as [`run_with_args`]:
/// the same command line, fd limit, `READY` line, `TCP_NODELAY` and a task per
/// connection, with one thread doing all the work (a `LocalExecutor` run by
/// `smol::block_on`, which also drives the async-io reactor on that thread).
/// smol has no cooperative budget to opt out of.
///
/// Never returns; the driver stops the process with a signal.
pub fn run_smol_with_args<M, H, F>(name: &str, make: M) -> !
where
    M: FnOnce(&ServerArgs) -> H,
    H: Fn(smol::net::TcpStream) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    let args = ServerArgs::parse(Flags::from_env()).unwrap_or_else(|e| die(&e, USAGE));
    let handle = make(&args);
    raise_fd_limit(FD_LIMIT);
    if std::env::var_os(EXIT_WITH_PARENT_ENV).is_some() {
        exit_with_parent();
    }
    let executor = smol::LocalExecutor::new();
    let result: std::io::Result<()> = smol::block_on(executor.run(async {
        let listener = smol::net::TcpListener::bind(args.addr).await?;
        let local = listener.local_addr()?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "READY {local}")?;
            out.flush()?;
        }
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        eprintln!("{name}: set_nodelay: {e}");
                    }
                    executor.spawn(handle(stream)).detach();
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    eprintln!("{name}: accept: {e}");
                    smol::Timer::after(Duration::from_millis(10)).await;
                }
            }
        }
    }));
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1)
        }
    }
}

/// Exits the process once it is re-parented (its parent died). A plain
/// thread outside the runtime that wakes twice a second: it does not touch
/// the runtime's scheduling and its CPU time is negligible.
fn exit_with_parent() {
    let parent = std::os::unix::process::parent_id();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            if std::os::unix::process::parent_id() != parent {
                std::process::exit(0);
            }
        }
    });
}

/// The error type a hyper upgrade handler may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves HTTP/1.1 on `stream` with upgrades enabled, for crates whose
/// documented server path is a hyper upgrade (fastwebsockets, yawc).
///
/// `on_request` answers each request — normally with the crate's 101
/// response, after spawning the WebSocket task on the upgrade future.
pub async fn serve_upgrades<F>(stream: TcpStream, on_request: F)
where
    F: Fn(Request<Incoming>) -> Result<Response<Empty<Bytes>>, BoxError> + Send + Sync + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let svc = hyper::service::service_fn(move |req| {
        let reply = on_request(req).or_else(|e| {
            // A request that is not a valid upgrade gets a 400, not a dropped connection.
            eprintln!("upgrade refused: {e}");
            let mut resp = Response::new(Empty::new());
            *resp.status_mut() = hyper::StatusCode::BAD_REQUEST;
            Ok::<_, Infallible>(resp)
        });
        std::future::ready(reply)
    });
    // Connection errors (resets when the load generator exits) are expected: ignore.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .with_upgrades()
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Flags {
        Flags::from_vec(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn addr_must_be_loopback() {
        assert!(ServerArgs::parse(args(&["--addr", "127.0.0.1:0"])).is_ok());
        assert!(ServerArgs::parse(args(&["--addr", "[::1]:9000"])).is_ok());
        assert!(ServerArgs::parse(args(&["--addr", "0.0.0.0:9000"])).is_err());
        assert!(ServerArgs::parse(args(&[])).is_err());
        assert!(ServerArgs::parse(args(&["--addr", "127.0.0.1:1", "--x"])).is_err());
        let a = ServerArgs::parse(args(&["--deflate", "--addr", "127.0.0.1:0"])).unwrap();
        assert!(a.deflate);
        assert!(
            !ServerArgs::parse(args(&["--addr", "127.0.0.1:0"]))
                .unwrap()
                .deflate
        );
    }
}
