//! A real `redis-server` for the backplane tests, started on a free loopback port with
//! nothing saved to disk, and killed when its guard is dropped. Debian's package is
//! installed by `tests-peers/redis/install.sh` (scripts/test runs it); the systemd service
//! is not used.
//!
//! Shared by ropeway-redis's tests and ropeway-mio's (included there by path).

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server; dropping it kills the process.
pub struct RedisServer {
    child: Option<Child>,
    program: PathBuf,
    port: u16,
}

/// Where redis-server is, or `None` with a message saying the test is skipped. With
/// `ROPEWAY_REQUIRE_REDIS` set (scripts/test sets it) a missing server fails the test
/// instead: there the tests must run, not pass by skipping.
pub fn redis_program() -> Option<PathBuf> {
    let found = ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| PathBuf::from(dir).join("redis-server"))
        .find(|p| p.exists());
    if found.is_none() {
        if std::env::var_os("ROPEWAY_REQUIRE_REDIS").is_some() {
            panic!("redis-server is missing: run `bash tests-peers/redis/install.sh`");
        }
        eprintln!(
            "SKIPPED: redis-server is not installed (bash tests-peers/redis/install.sh installs it)"
        );
    }
    found
}

impl RedisServer {
    /// Starts redis-server on a free loopback port; `None` (skip) if it is not installed.
    pub fn start() -> Option<RedisServer> {
        let program = redis_program()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut server = RedisServer {
            child: None,
            program,
            port,
        };
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would: no goodbye to the clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.program)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--logfile", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = ([127, 0, 0, 1], self.port).into();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A plain client connection, for the test's own commands.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
            .expect("connect to the test's redis-server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits up to `timeout` for `condition`; false if it never held.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
