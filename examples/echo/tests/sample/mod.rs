//! The real `ropeway-echo` binary on a free port of 127.0.0.1, for the tests that run it
//! (`hardening.rs`, `shutdown.rs`): started on a runtime, its output collected, killed when
//! dropped. Linux only (`/proc`, `sh -c 'ulimit -n'`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sample server, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// The first lines it printed (stdout and stderr).
    log: Arc<Mutex<Vec<String>>>,
    /// All lines it printed, and those saying an accept failed.
    pub lines: Arc<AtomicUsize>,
    pub accept_failures: Arc<AtomicUsize>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the sample on `runtime`, with at most `fd_limit` descriptors if given (set by
    /// the shell it starts from, which then becomes the server), and waits until it listens.
    pub fn start(runtime: &str, fd_limit: Option<u32>) -> Server {
        Self::start_with(runtime, fd_limit, &[])
    }

    /// [`Server::start`] with more command-line arguments.
    pub fn start_with(runtime: &str, fd_limit: Option<u32>, args: &[&str]) -> Server {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            listener.local_addr().expect("local_addr").port()
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let binary = env!("CARGO_BIN_EXE_ropeway-echo");
        let listen = addr.to_string();
        let mut command = match fd_limit {
            Some(limit) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(binary);
                c
            }
            None => Command::new(binary),
        };
        command
            .args(["--listen", &listen, "--runtime", runtime])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start ropeway-echo");
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::new(AtomicUsize::new(0));
        let accept_failures = Arc::new(AtomicUsize::new(0));
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let (log, lines, failures) = (log.clone(), lines.clone(), accept_failures.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    lines.fetch_add(1, Ordering::Relaxed);
                    if line.starts_with("accept failed") {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    // Bounded: a server that logs per failure must not grow this process.
                    if log.len() < 100 {
                        log.push(line);
                    }
                }
            });
        }
        let mut server = Server {
            child,
            addr,
            log,
            lines,
            accept_failures,
        };
        let start = Instant::now();
        while !server.log().iter().any(|l| l.starts_with("listening on")) {
            assert!(
                matches!(server.child.try_wait(), Ok(None)),
                "ropeway-echo exited: {:?}",
                server.log()
            );
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ropeway-echo does not listen: {:?}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The server's CPU time so far (user + system), from `/proc/<pid>/stat`.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("read /proc/<pid>/stat");
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }

    /// One plain HTTP request; the whole answer (the server closes after answering).
    pub fn request(&self, head: &str) -> Vec<u8> {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(head.as_bytes())
            .expect("write the request");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read the answer");
        answer
    }
}

/// `sysconf(_SC_CLK_TCK)`: 100 on Linux for every architecture this runs on, as `getconf`
/// reports.
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
