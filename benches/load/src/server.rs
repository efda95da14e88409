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
//!
//! With `--broadcast` a server is a publish/subscribe server instead of an
//! echo server (the `broadcast-*` cases): a connection to [`PUB_PATH`] is the
//! publisher, every data message it sends goes to every connection on
//! [`SUB_PATH`]; other paths are refused. The tokio and smol servers share
//! one fan-out, a tokio `broadcast` channel
//! ([`hub`]), and differ only in how their crate reads the publisher's
//! messages and writes them to each subscriber.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

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

/// The publisher's request path in broadcast mode.
pub const PUB_PATH: &str = "/pub";

/// The subscribers' request path in broadcast mode.
pub const SUB_PATH: &str = "/sub";

/// uWebSockets' `benchmarks/broadcast_test.c` connects every client to `/`, sends from each
/// and expects every message at every client, the sender included: servers that accept it
/// (ropeway, ropeway-smol, ropeway-mio, uws) treat a connection there as publisher and
/// subscriber at once (see [`Member`]); the others refuse it.
pub const ALL_PATH: &str = "/";

/// Messages the broadcast hub holds for a subscriber that has not written them yet. The
/// load generator keeps at most its `--in-flight` window (default 32, at most 255)
/// unreceived by the slowest subscriber, so a subscriber never falls this far behind; one
/// that does (a lagging tokio broadcast receiver) is disconnected, which the load generator
/// counts as an error.
pub const HUB_CAPACITY: usize = 1024;

const USAGE: &str = "usage: server_<name> --addr 127.0.0.1:PORT [--deflate | --broadcast]

Echoes every text and binary message back with the same opcode.
PORT 0 picks a free port; the line `READY <addr>` on stdout says the server listens.
--deflate accepts permessage-deflate (RFC 7692); servers whose crate lacks it refuse it.
--broadcast: publish/subscribe instead of echo: every data message of the connection on
/pub goes to every connection on /sub; other paths are refused.";

/// The server's command line.
#[derive(Debug, Clone)]
pub struct ServerArgs {
    /// Loopback address to listen on.
    pub addr: SocketAddr,
    /// `--deflate`: accept permessage-deflate (see the module docs for the settings).
    pub deflate: bool,
    /// `--broadcast`: publish/subscribe on [`PUB_PATH`] / [`SUB_PATH`] instead of echo.
    pub broadcast: bool,
}

impl ServerArgs {
    /// Parses `--addr 127.0.0.1:PORT [--deflate | --broadcast]`; only loopback addresses
    /// are accepted.
    pub fn parse(mut flags: Flags) -> Result<Self, String> {
        let addr: SocketAddr = flags
            .parsed("addr")?
            .ok_or_else(|| "--addr is required".to_owned())?;
        let deflate = flags.switch("deflate");
        let broadcast = flags.switch("broadcast");
        flags.finish()?;
        if !addr.ip().is_loopback() {
            return Err(format!("{addr} is not a loopback address"));
        }
        if deflate && broadcast {
            return Err("--broadcast runs without compression: drop --deflate".into());
        }
        Ok(Self {
            addr,
            deflate,
            broadcast,
        })
    }
}

/// What a connection is in broadcast mode, from its request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// [`PUB_PATH`]: its data messages go to every subscriber.
    Publisher,
    /// [`SUB_PATH`]: receives every published message.
    Subscriber,
}

impl Role {
    /// The role of a request for `path`; `None` for any other path (refused).
    pub fn of(path: &str) -> Option<Self> {
        match path {
            PUB_PATH => Some(Self::Publisher),
            SUB_PATH => Some(Self::Subscriber),
            _ => None,
        }
    }
}

/// What a broadcast-mode connection does, for the servers that also take [`ALL_PATH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Its data messages go to every subscriber.
    pub publishes: bool,
    /// It receives every published message.
    pub subscribes: bool,
}

impl Member {
    /// [`Role::of`], plus [`ALL_PATH`] (both at once); `None` for any other path.
    pub fn of(path: &str) -> Option<Self> {
        let (publishes, subscribes) = match path {
            ALL_PATH => (true, true),
            _ => match Role::of(path)? {
                Role::Publisher => (true, false),
                Role::Subscriber => (false, true),
            },
        };
        Some(Self {
            publishes,
            subscribes,
        })
    }
}

/// The fan-out of the tokio and smol broadcast servers: a tokio broadcast channel of
/// [`HUB_CAPACITY`] messages (it does not depend on the tokio runtime, so the smol server
/// uses it too). The publisher's task sends each message once; each subscriber's task holds
/// a receiver and writes what it receives to its connection. `T` is the crate's cheap-to-clone
/// form of a message (`Bytes`, or ropeway's `PreparedMessage`, framed once).
pub fn hub<T: Clone>() -> broadcast::Sender<T> {
    broadcast::channel(HUB_CAPACITY).0
}

/// Parses the command line, raises the fd limit and arranges to exit with the parent (as
/// the tokio and smol servers do), for a server that runs its own event loop (ropeway-mio).
pub fn setup() -> ServerArgs {
    let args = ServerArgs::parse(Flags::from_env()).unwrap_or_else(|e| die(&e, USAGE));
    raise_fd_limit(FD_LIMIT);
    if std::env::var_os(EXIT_WITH_PARENT_ENV).is_some() {
        exit_with_parent();
    }
    args
}

/// Prints `READY <addr>`: the driver and the tests wait for this line.
pub fn ready(addr: SocketAddr) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {addr}")?;
    out.flush()
}

/// Exits with status 2 and the usage text if `--deflate` is set: for crates without
/// permessage-deflate.
pub fn refuse_deflate(name: &str, args: &ServerArgs) {
    if args.deflate {
        let msg =
            format!("{name} does not support permessage-deflate (RFC 7692): --deflate refused");
        die(&msg, USAGE);
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
        refuse_deflate(name, args);
        handle
    })
}

/// Runs an echo server (built by `echo`) or, with `--broadcast`, a publish/subscribe
/// server (built by `broadcast`), under the conditions of [`run_with_args`]. Each mode is
/// its own handler and task type, so the broadcast code does not enlarge an echo
/// connection's task (the idle cases measure that size).
pub fn run_modes<E, HE, FE, B, HB, FB>(name: &str, echo: E, broadcast: B) -> !
where
    E: FnOnce(&ServerArgs) -> HE,
    HE: Fn(TcpStream) -> FE + 'static,
    FE: Future<Output = ()> + Send + 'static,
    B: FnOnce(&ServerArgs) -> HB,
    HB: Fn(TcpStream) -> FB + 'static,
    FB: Future<Output = ()> + Send + 'static,
{
    let args = setup();
    if args.broadcast {
        let handle = broadcast(&args);
        serve_tokio(name, &args, handle)
    } else {
        let handle = echo(&args);
        serve_tokio(name, &args, handle)
    }
}

/// [`run_modes`] on smol (see [`run_smol_with_args`]).
pub fn run_smol_modes<E, HE, FE, B, HB, FB>(name: &str, echo: E, broadcast: B) -> !
where
    E: FnOnce(&ServerArgs) -> HE,
    HE: Fn(smol::net::TcpStream) -> FE + 'static,
    FE: Future<Output = ()> + 'static,
    B: FnOnce(&ServerArgs) -> HB,
    HB: Fn(smol::net::TcpStream) -> FB + 'static,
    FB: Future<Output = ()> + 'static,
{
    let args = setup();
    if args.broadcast {
        let handle = broadcast(&args);
        serve_smol(name, &args, handle)
    } else {
        let handle = echo(&args);
        serve_smol(name, &args, handle)
    }
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
    let args = setup();
    let handle = make(&args);
    serve_tokio(name, &args, handle)
}

/// The tokio server loop of [`run_with_args`] and [`run_modes`].
fn serve_tokio<H, F>(name: &str, args: &ServerArgs, handle: H) -> !
where
    H: Fn(TcpStream) -> F + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let listen = args.addr;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| die(&format!("cannot build the runtime: {e}"), USAGE));
    let result: std::io::Result<()> = rt.block_on(async move {
        let listener = TcpListener::bind(listen).await?;
        ready(listener.local_addr()?)?;
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
    let args = setup();
    let handle = make(&args);
    serve_smol(name, &args, handle)
}

/// The smol server loop of [`run_smol_with_args`] and [`run_smol_modes`].
fn serve_smol<H, F>(name: &str, args: &ServerArgs, handle: H) -> !
where
    H: Fn(smol::net::TcpStream) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    let executor = smol::LocalExecutor::new();
    let result: std::io::Result<()> = smol::block_on(executor.run(async {
        let listener = smol::net::TcpListener::bind(args.addr).await?;
        ready(listener.local_addr()?)?;
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
        let b = ServerArgs::parse(args(&["--broadcast", "--addr", "127.0.0.1:0"])).unwrap();
        assert!(b.broadcast && !b.deflate);
        assert!(
            ServerArgs::parse(args(&["--addr", "127.0.0.1:0", "--broadcast", "--deflate"]))
                .is_err()
        );
    }

    #[test]
    fn roles_follow_the_path() {
        assert_eq!(Role::of("/pub"), Some(Role::Publisher));
        assert_eq!(Role::of("/sub"), Some(Role::Subscriber));
        assert_eq!(Role::of("/"), None);
        assert_eq!(Role::of("/sub/x"), None);
        assert_eq!(
            Member::of("/"),
            Some(Member {
                publishes: true,
                subscribes: true
            })
        );
        assert_eq!(Member::of("/x"), None);
    }
}
