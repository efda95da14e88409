//! A hostile peer that floods the echo sample and never reads (issue 10).
//!
//! Each case starts the real `ropeway-echo` binary on a free port of 127.0.0.1, opens
//! `/ws` with a hand-written upgrade request from a plain std socket with a small receive
//! buffer, then writes masked frames of one kind as fast as the server takes them for a few
//! seconds, and never reads a byte. Meanwhile it samples the server's memory in
//! `/proc/<pid>/status` (VmRSS, and VmHWM for the peak).
//!
//! What the server may hold for such a peer (DESIGN.md §3.11): its queued-output limit plus
//! one read's worth. Reading stops while the output is over its limit, so TCP slows the peer
//! down; answers the server owes (pongs) never pile up. Frames that owe nothing (pongs) may
//! be read and dropped forever. Either way the server's memory stays flat, which is what
//! each case asserts; how it stays flat (the client blocked, or the server discarding) is
//! only reported.
//!
//! Run with `--nocapture` to see each case's numbers: server memory before and at its peak,
//! growth rate, bytes the client got written, how much of that the server itself read (the
//! rest sits in the two kernels' socket buffers, per `/proc/net/tcp`), and how long the
//! client had been blocked when it stopped.
//!
//! Linux only (`/proc`); loopback only. Cases run one at a time (a lock), so the rates they
//! report do not compete for the CPU.

#![cfg(target_os = "linux")]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ropeway_core::Limits;
use socket2::{Domain, Protocol, Socket, Type};

const MIB: u64 = 1 << 20;

/// The largest frame or message these floods send (64 KiB binary messages).
const LARGEST_FRAME: u64 = 64 << 10;

/// Stack scratch the tokio adapter reads into while its read buffer is empty.
const READ_SCRATCH: u64 = 32 << 10;

/// What the server legitimately holds for one flooding connection: its queued-output limit
/// (`Limits::max_queued_output`, 1 MiB by default; a message is accepted whole while the
/// queue is under the limit, so add one message), plus one read's worth (the 32 KiB scratch
/// plus a read buffer that grows to at most one frame), plus the message the echo loop holds
/// while it waits to send it. The frames here are at most 64 KiB, well under the 16 MiB frame
/// and message limits, so those limits never come into play: about 1.2 MiB in all.
fn needed() -> u64 {
    let output = Limits::DEFAULT.max_queued_output as u64 + LARGEST_FRAME;
    let one_read = READ_SCRATCH + LARGEST_FRAME;
    let held_message = LARGEST_FRAME;
    output + one_read + held_message
}

/// The growth of the server's memory a case allows: what it needs (about 1.2 MiB, see
/// [`needed`]) plus slack for the allocator (chunks malloc keeps after a free, fragmentation
/// between read buffers and the output queue, RSS counting whole pages, tokio growing its
/// tables). Measured with the driver bounding output: 1.2 MiB at most (ping flood, and a close
/// behind 8 MiB of pings), 0.1 MiB for the rest. Before it, the unanswered pongs grew by 150
/// to 500 MiB/s over loopback, passing this bound within a few milliseconds.
const GROWTH_BOUND: u64 = 8 * MIB;

/// Growth at which the client stops flooding at once, so a broken server cannot eat the
/// machine: far above the bound, far below the machine's memory.
const ABORT_GROWTH: u64 = 512 * MIB;

/// How long the client floods.
const FLOOD_TIME: Duration = Duration::from_secs(3);

/// How long memory is still watched after the client stops writing (without closing): the
/// server drains what its socket buffer still holds.
const SETTLE_TIME: Duration = Duration::from_millis(800);

/// The client's receive buffer: small, so the server's answers back up quickly.
const CLIENT_RCVBUF: usize = 4096;

/// One case at a time: the rates they report would otherwise share the CPU.
static SERIAL: Mutex<()> = Mutex::new(());

/// The sample server, killed when dropped so that no path leaves it running.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// What the server printed (stdout and stderr), for the report.
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the sample on a port of 127.0.0.1 that was free a moment ago and waits until
    /// it says it listens (it binds first, so connections are accepted from then on).
    fn start() -> Server {
        Server::start_on("tokio")
    }

    /// Starts the sample on `runtime` (`--runtime`), as [`Server::start`] does.
    fn start_on(runtime: &str) -> Server {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            listener.local_addr().expect("local_addr").port()
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ropeway-echo"))
            .args(["--listen", &addr.to_string(), "--runtime", runtime])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ropeway-echo");
        let log = Arc::new(Mutex::new(Vec::new()));
        // Drain both pipes for the server's whole life, so it never blocks on a full pipe.
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        drain(stdout, log.clone());
        drain(stderr, log.clone());
        let mut server = Server { child, addr, log };
        // It prints where it listens once the socket is bound (and accepting).
        let start = Instant::now();
        while !server
            .log_lines()
            .iter()
            .any(|l| l.starts_with("listening on"))
        {
            assert!(
                server.alive(),
                "ropeway-echo exited: {:?}",
                server.log_lines()
            );
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ropeway-echo does not listen on {addr}: {:?}",
                server.log_lines()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the process is still running (it must not have crashed or been OOM-killed).
    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn drain(pipe: impl Read + Send + 'static, log: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            // Bounded: a server that logs per frame must not grow this process either.
            if log.len() < 200 {
                log.push(line);
            }
        }
    });
}

/// The server's memory, in bytes.
#[derive(Clone, Copy, Debug)]
struct Memory {
    /// Resident now.
    rss: u64,
    /// Peak resident since start (or since the peak was last reset).
    hwm: u64,
}

fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        hwm: field("VmHWM:")?,
    })
}

/// The queues of the flooding connection, from `/proc/net/tcp`: bytes the client's kernel
/// still holds unsent or unacknowledged (`tx_queue` of the client's socket), and bytes the
/// server's kernel received that the server has not read (`rx_queue` of its socket). What
/// the client wrote minus both is what the server itself took in.
fn tcp_queues(client: SocketAddr, server: SocketAddr) -> Option<(u64, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
    let (mut client_tx, mut server_rx) = (None, None);
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(queues)) =
            (fields.get(1), fields.get(2), fields.get(4))
        else {
            continue;
        };
        let (tx, rx) = queues.split_once(':')?;
        let ends = (port(local), port(remote));
        if ends == (Some(client.port()), Some(server.port())) {
            client_tx = u64::from_str_radix(tx, 16).ok();
        } else if ends == (Some(server.port()), Some(client.port())) {
            server_rx = u64::from_str_radix(rx, 16).ok();
        }
    }
    Some((client_tx?, server_rx?))
}

/// Resets the peak (VmHWM) to the current RSS (Linux 4.0+), so the peak a case reports is its
/// own. Harmless if refused: the server is fresh per case anyway.
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A masked client frame.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    const KEY: [u8; 4] = [0x1b, 0x2c, 0x3d, 0x4e];
    let mut f = Vec::with_capacity(payload.len() + 14);
    f.push(u8::from(fin) << 7 | opcode);
    match payload.len() {
        len @ 0..=125 => f.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&KEY);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    f
}

/// `unit` repeated until the buffer is at least `min` bytes: whole frames only, so the
/// buffer can be written again and again as one frame stream.
fn repeat(unit: &[u8], min: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(min + unit.len());
    while out.len() < min {
        out.extend_from_slice(unit);
    }
    out
}

/// Opens `/ws` with a small receive buffer and returns the socket right after the 101 head.
fn connect(addr: SocketAddr, rcvbuf: Option<usize>) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    if let Some(size) = rcvbuf {
        // Before connect, so the window offered in the handshake is already small.
        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    socket
        .connect_timeout(&addr.into(), Duration::from_secs(5))
        .expect("connect");
    let mut stream: TcpStream = socket.into();
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .expect("write timeout");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write upgrade");
    // Byte by byte: nothing past the head may be consumed (the server sends nothing more
    // before the client does, but this does not rely on it).
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!(
                "handshake response cut short ({other:?}): {:?}",
                String::from_utf8_lossy(&head)
            ),
        }
        assert!(head.len() < 8192, "handshake response too long");
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    stream
}

/// A well-behaved client: one text message, echoed. The server must still serve others
/// after the flood.
fn echo_round_trip(addr: SocketAddr) -> Result<(), String> {
    let mut stream = connect(addr, None);
    let payload = b"still serving?";
    stream
        .write_all(&frame(true, TEXT, payload))
        .map_err(|e| format!("write: {e}"))?;
    loop {
        let mut header = [0u8; 2];
        stream
            .read_exact(&mut header)
            .map_err(|e| format!("read: {e}"))?;
        let len = match header[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                stream.read_exact(&mut b).map_err(|e| e.to_string())?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                stream.read_exact(&mut b).map_err(|e| e.to_string())?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut body = vec![0u8; len as usize];
        stream.read_exact(&mut body).map_err(|e| e.to_string())?;
        if header[0] & 0x0f == TEXT {
            return if body == payload {
                Ok(())
            } else {
                Err(format!("echo differs: {body:?}"))
            };
        }
    }
}

/// Why the client stopped writing.
#[derive(Debug)]
enum Stop {
    /// The flood time passed.
    Deadline,
    /// The server's memory passed `ABORT_GROWTH`.
    Abort,
    /// A write failed: the server ended the connection.
    Ended(io::ErrorKind),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Deadline => write!(f, "the flood time"),
            Stop::Abort => write!(f, "the {} MiB safety cap", ABORT_GROWTH / MIB),
            Stop::Ended(kind) => write!(f, "the server ending the connection ({kind})"),
        }
    }
}

/// What one case saw.
#[derive(Debug)]
struct Report {
    /// Server memory right before the flood.
    before: Memory,
    /// Peak resident memory during the flood and the settling after it.
    peak: u64,
    /// Resident memory at the end.
    after: Memory,
    stop: Stop,
    /// How long the client flooded.
    flooded: Duration,
    /// Bytes the client wrote: taken by its kernel, perhaps not yet by the server.
    sent: u64,
    /// How long the client had been unable to write when it stopped: close to the flood
    /// time's remainder when backpressure holds it.
    blocked_at_end: Duration,
    /// When the growth first passed the bound (if it did).
    past_bound_after: Option<Duration>,
    /// Bytes of the flood the server read from its socket (the rest sits in the kernels'
    /// buffers); `None` if `/proc/net/tcp` did not tell (the connection already ended).
    server_took: Option<u64>,
}

impl Report {
    fn growth(&self) -> u64 {
        self.peak.saturating_sub(self.before.rss)
    }

    fn rate_mib_s(&self) -> f64 {
        // Over at least a tenth of a second: a flood the server ends at once has no rate.
        self.growth() as f64 / MIB as f64 / self.flooded.as_secs_f64().max(0.1)
    }
}

/// Floods a fresh server with `prefix` once, then `unit` (whole frames) over and over, and
/// asserts the server's memory growth stays under the bound.
fn flood_case(name: &str, prefix: &[u8], unit: &[u8]) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let bound = GROWTH_BOUND;
    assert!(
        needed() < bound / 4,
        "the limits changed: revisit GROWTH_BOUND"
    );
    let mut server = Server::start();
    let pid = server.pid();
    let mut stream = connect(server.addr, Some(CLIENT_RCVBUF));
    let client_addr = stream.local_addr().expect("local_addr");
    stream.set_nonblocking(true).expect("nonblocking");

    // Let the server settle after the handshake, then take the baseline.
    std::thread::sleep(Duration::from_millis(100));
    reset_peak(pid);
    let before = memory(pid).expect("server memory");
    let mut peak = before.rss.max(before.hwm);
    let mut past_bound_after = None;

    let start = Instant::now();
    let mut sent = 0u64;
    let mut buf: &[u8] = if prefix.is_empty() { unit } else { prefix };
    let mut pos = 0;
    let mut last_write = start;
    let mut next_sample = start;
    let stop = loop {
        let now = Instant::now();
        if now >= next_sample {
            next_sample = now + Duration::from_millis(10);
            if let Some(m) = memory(pid) {
                peak = peak.max(m.rss).max(m.hwm);
            }
            let growth = peak.saturating_sub(before.rss);
            if growth > bound && past_bound_after.is_none() {
                past_bound_after = Some(now - start);
            }
            if growth > ABORT_GROWTH {
                break Stop::Abort;
            }
        }
        if now - start >= FLOOD_TIME {
            break Stop::Deadline;
        }
        match stream.write(&buf[pos..]) {
            Ok(0) => break Stop::Ended(io::ErrorKind::WriteZero),
            Ok(n) => {
                sent += n as u64;
                pos += n;
                last_write = Instant::now();
                if pos == buf.len() {
                    buf = unit;
                    pos = 0;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // The server is not reading: backpressure. Wait a little, never hang.
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Stop::Ended(e.kind()),
        }
    };
    let flooded = start.elapsed();
    let blocked_at_end = last_write.elapsed();

    // Still connected and still not reading: the server drains what its socket holds.
    let settle_until = Instant::now() + SETTLE_TIME;
    let mut after = memory(pid).expect("server memory");
    while Instant::now() < settle_until {
        std::thread::sleep(Duration::from_millis(20));
        match memory(pid) {
            Some(m) => {
                after = m;
                peak = peak.max(m.rss).max(m.hwm);
            }
            None => break,
        }
    }
    // Measured before the client socket closes (the close frees both queues).
    let server_took = tcp_queues(client_addr, server.addr)
        .map(|(client_tx, server_rx)| sent.saturating_sub(client_tx + server_rx));
    let report = Report {
        before,
        peak,
        after,
        stop,
        flooded,
        sent,
        blocked_at_end,
        past_bound_after,
        server_took,
    };
    let alive = server.alive();
    // A fresh client must still be served, unless the flood made the server useless.
    let serving = if alive {
        echo_round_trip(server.addr)
    } else {
        Err("server exited".into())
    };
    drop(stream);
    let log = server.log_lines();
    drop(server);

    eprintln!(
        "flood {name}: server RSS {:.1} MiB -> peak {:.1} MiB (growth {:.1} MiB, {:.0} MiB/s over \
         {:.2} s; past the {:.0} MiB bound after {}), end RSS {:.1} MiB; client wrote {:.1} MiB \
         ({:.0} MiB/s), stopped by {}, blocked {:.2} s at the end; the server read {} of \
         it; server log: {:?}",
        report.before.rss as f64 / MIB as f64,
        report.peak as f64 / MIB as f64,
        report.growth() as f64 / MIB as f64,
        report.rate_mib_s(),
        report.flooded.as_secs_f64(),
        bound as f64 / MIB as f64,
        report
            .past_bound_after
            .map_or("never".to_string(), |d| format!("{:.2} s", d.as_secs_f64())),
        report.after.rss as f64 / MIB as f64,
        report.sent as f64 / MIB as f64,
        report.sent as f64 / MIB as f64 / report.flooded.as_secs_f64().max(1e-3),
        report.stop,
        report.blocked_at_end.as_secs_f64(),
        report
            .server_took
            .map_or("an unknown part".to_string(), |n| format!(
                "{:.1} MiB",
                n as f64 / MIB as f64
            )),
        log,
    );
    assert!(alive, "{name}: the server died during the flood: {log:?}");
    assert!(
        report.growth() <= bound,
        "{name}: the server's memory grew by {:.1} MiB (bound {:.0} MiB) at {:.0} MiB/s \
         while a peer flooded without reading: {report:?}",
        report.growth() as f64 / MIB as f64,
        bound as f64 / MIB as f64,
        report.rate_mib_s(),
    );
    assert!(
        serving.is_ok(),
        "{name}: after the flood the server no longer echoes for another client: {serving:?}"
    );
}

/// Pings with full 125-byte payloads: each one owes a pong.
#[test]
fn ping_flood_stays_bounded() {
    let unit = repeat(&frame(true, PING, &[b'p'; 125]), 64 << 10);
    flood_case("ping", &[], &unit);
}

/// Small text messages, each echoed by the application.
#[test]
fn small_text_flood_stays_bounded() {
    let unit = repeat(&frame(true, TEXT, b"hello, ropeway"), 64 << 10);
    flood_case("small text", &[], &unit);
}

/// 64 KiB binary messages, each echoed by the application.
#[test]
fn binary_64k_flood_stays_bounded() {
    let unit = repeat(&frame(true, BINARY, &[0xa5; 64 << 10]), 256 << 10);
    flood_case("binary 64 KiB", &[], &unit);
}

/// Unsolicited pongs: nothing is owed for them.
#[test]
fn pong_flood_stays_bounded() {
    let unit = repeat(&frame(true, PONG, &[b'q'; 125]), 64 << 10);
    flood_case("pong", &[], &unit);
}

/// Text messages of 16 fragments of 1 KiB (a text frame and 15 continuations), each echoed.
#[test]
fn fragmented_flood_stays_bounded() {
    let piece = [b'f'; 1024];
    let mut message = frame(false, TEXT, &piece);
    for i in 1..16 {
        message.extend(frame(i == 15, CONTINUATION, &piece));
    }
    let unit = repeat(&message, 64 << 10);
    flood_case("fragmented", &[], &unit);
}

/// A close frame, then pings and text messages: the close owes a close, nothing after it
/// owes anything.
#[test]
fn close_then_frames_stays_bounded() {
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"bye");
    let prefix = frame(true, CLOSE, &close);
    let mut mixed = frame(true, PING, &[b'p'; 125]);
    mixed.extend(frame(true, TEXT, b"after the close"));
    let unit = repeat(&mixed, 64 << 10);
    flood_case("close then frames", &prefix, &unit);
}

/// The same, but the close arrives while the server's answers are backed up: 8 MiB of pings
/// first (their pongs fill the server's socket buffer, up to 4 MiB on Linux, and its
/// output), so the close the server owes cannot go out, and what follows the close must
/// not make it hold more either.
#[test]
fn close_while_backed_up_stays_bounded() {
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"bye");
    let mut prefix = repeat(&frame(true, PING, &[b'p'; 125]), 8 << 20);
    prefix.extend(frame(true, CLOSE, &close));
    let mut mixed = frame(true, PING, &[b'p'; 125]);
    mixed.extend(frame(true, TEXT, b"after the close"));
    let unit = repeat(&mixed, 64 << 10);
    flood_case("close while backed up", &prefix, &unit);
}

/// On the mio runtime the echoes of a client that floods small messages and never reads
/// are dropped once its queued output is full (the slow-consumer policy). The sample reports
/// that per connection and at most every few seconds, naming the peer's address, instead of
/// a line per dropped message (3,349 lines in 10 s before).
#[test]
fn dropped_echoes_are_logged_per_connection_and_interval_naming_the_peer() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start_on("mio");
    let mut stream = connect(server.addr, Some(CLIENT_RCVBUF));
    let client_addr = stream.local_addr().expect("local_addr");
    stream.set_nonblocking(true).expect("nonblocking");
    let unit = repeat(&frame(true, TEXT, b"hello, ropeway"), 64 << 10);
    let (start, mut pos) = (Instant::now(), 0);
    while start.elapsed() < Duration::from_secs(2) {
        match stream.write(&unit[pos..]) {
            Ok(n) => pos = (pos + n) % unit.len(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("the server stopped reading with {e}"),
        }
    }
    drop(stream);
    // The connection's end reports what was not reported yet.
    let reported = |log: &[String]| log.iter().filter(|l| l.contains("sends failed")).count();
    let until = Instant::now() + Duration::from_secs(5);
    while reported(&server.log_lines()) == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = server.log_lines();
    let lines: Vec<&String> = log.iter().filter(|l| l.contains("sends failed")).collect();
    assert!(
        !lines.is_empty(),
        "the dropped echoes were reported: {log:?}"
    );
    assert!(
        lines.len() <= 2,
        "one line per interval and one at the end: {lines:?}"
    );
    assert!(
        lines.iter().all(|l| l.contains(&client_addr.to_string())),
        "each line names the peer {client_addr}: {lines:?}"
    );
    assert!(
        log.len() < 20,
        "{} lines logged: {:?}",
        log.len(),
        &log[..20]
    );
}
