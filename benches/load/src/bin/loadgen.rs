//! The load generator: one thread, non-blocking sockets on mio (epoll).
//!
//! It is built to cost less per message than the servers it drives:
//!
//! - the client handshake is written by hand (a fixed `Sec-WebSocket-Key`:
//!   this is a load generator, not a client library), built once for all
//!   connections;
//! - the two messages each connection alternates between are pre-built,
//!   masked frames (header + masked payload), so sending is one `write`;
//! - each connection has one fixed read buffer, allocated at connect time;
//!   echoed frames are parsed in place (several frames per read and
//!   fragmented echoes are handled) and the payload is checked as it streams
//!   through, never copied: length always, first and last byte cheaply,
//!   every byte with `--verify`;
//! - nothing is allocated per message.
//!
//! Deflate mode (`--deflate`): the upgrade request offers permessage-deflate
//! with `client_no_context_takeover`, which the server must accept. The
//! payloads are JSON-like text records ([`wire::records`]), each compressed
//! once, up front, and sent as a masked frame with RSV1 set: without context
//! takeover on the client side the same compressed body stays valid every
//! time. Echoes with RSV1 are inflated as they arrive by one inflater per
//! connection (its window kept across messages, as the server keeps its
//! compression context, unless the server answered
//! `server_no_context_takeover`), into one buffer per connection, then checked
//! like any echo. An echo the server chose not to compress is accepted and
//! counted. Enough distinct payloads are cycled through that the server's
//! 32 KiB window never holds an earlier copy of the message it compresses.
//!
//! Load mode: N connections, each with exactly one message in flight. After
//! the warm-up it counts echoed messages over fixed windows. Progress markers
//! go to stdout (`CONNECTED`, `WINDOW_START`, `WINDOW_END`) so a driver can
//! sample the server's /proc exactly around the measured window, then one
//! JSON line with the results.
//!
//! Idle mode (`--idle N`): opens N connections, handshake only, prints
//! `IDLE_OPEN`, holds them for `--hold`, then prints one JSON line. Beyond
//! 14,000 connections they come from several source addresses (127.0.0.1,
//! 127.0.0.2, …; `--sources`), because one source address has only the
//! ephemeral port range (28,232 ports by default) towards one server port.
//!
//! Broadcast mode (`--broadcast N`): N subscriber connections on `/sub`, then
//! one publisher connection on `/pub`, against a server started with
//! `--broadcast`. The publisher sends binary messages of `--size` bytes; the
//! server sends each to every subscriber; a delivery is one message received
//! by one subscriber, and the rates and windows count deliveries. Flow
//! control is a window of sequence numbers (`--in-flight W`, default 32): the
//! publisher sends message `s` only once every subscriber has received
//! message `s - W`, so the server never holds more than W messages for any
//! subscriber and nothing grows without bound, yet the server always has work
//! queued for every subscriber (it can batch). Each message is one of 256
//! patterns (`s mod 256`, distinct first and last bytes), so a lost,
//! duplicated or reordered delivery is an error, as is a stalled window.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use ropeway_bench_load::cli::{Flags, die, raise_fd_limit};
use ropeway_bench_load::deflate::{self, Answer, Inflater};
use ropeway_bench_load::procfs;
use ropeway_bench_load::server::DEFLATE_LEVEL;
use ropeway_bench_load::wire::{self, EchoReader, Expect};
use socket2::{Domain, Protocol, Socket, Type};

const USAGE: &str = "usage: loadgen --addr 127.0.0.1:PORT [load options | --idle N --hold 5s]

load options:
  --conns N          connections, each with one message in flight (default 100)
  --size B           payload bytes per message (default 20)
  --text             send text messages (default binary)
  --warmup D         warm-up before measuring (default 2s)
  --duration D       measured time (default 5s)
  --window D         length of one reporting window (default 1s)
  --verify           compare every echoed byte (default: length + first/last byte)
  --deflate          offer permessage-deflate (client_no_context_takeover), send
                     pre-compressed JSON-like text records, inflate every echo
idle options:
  --idle N           open N connections, handshake only, and hold them
  --hold D           how long to hold them (default 5s)
  --sources K        spread connections over source addresses 127.0.0.1 .. 127.0.0.K
                     (default: one per 14,000 connections)
broadcast options (also --size, --warmup, --duration, --window, --verify):
  --broadcast N      N subscribers on /sub and one publisher on /pub; counts deliveries
  --in-flight W      messages the publisher may be ahead of the slowest subscriber
                     (default 32, at most 255)
common:
  --max-pending N    connections handshaking at once (default 256)
  --connect-timeout D  limit for opening all connections (default 30s)

Durations: 2s, 500ms, 1.5s. Output: marker lines, then one JSON line.";

/// The RFC 6455 example key and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// Read buffer per connection under load: the message size, kept between
/// 64 KiB and 1 MiB. Payload never needs to fit (it is checked as it streams
/// through; only a partial frame header is carried over), but a larger buffer
/// means fewer `read` calls for large messages.
fn load_buf(size: usize) -> usize {
    (size + 64).clamp(64 * 1024, 1024 * 1024)
}
/// Read buffer per idle connection: enough for the 101 response.
const IDLE_BUF: usize = 2048;
/// Linux `EINPROGRESS` (`io::ErrorKind::InProgress` is not stable yet).
const EINPROGRESS: i32 = 115;
/// Connections per source address when `--sources` is not given: half the default
/// ephemeral port range (32768–60999, 28,232 ports). Linux gives `connect` the even
/// ports first; past half the range it searches, and opening connections slows down
/// sharply (measured on the development VM: 19,500 connections from one address took
/// 27 s, from two 4 s).
const CONNS_PER_SOURCE: usize = 14_000;
/// Broadcast mode: distinct message patterns. The window must stay below it, so a
/// subscriber that misses up to a window of messages sees a different pattern.
const BROADCAST_PATTERNS: usize = 256;
/// Broadcast mode: the pause between the last handshake and the first message, so
/// that every server has registered every subscriber (some subscribe only after their
/// 101 is written).
const SETTLE: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
struct Opts {
    addr: SocketAddr,
    conns: usize,
    size: usize,
    text: bool,
    warmup: Duration,
    duration: Duration,
    window: Duration,
    verify: bool,
    deflate: bool,
    idle: Option<usize>,
    hold: Duration,
    /// Source addresses to spread connections over (0: one per [`CONNS_PER_SOURCE`]).
    sources: usize,
    /// Broadcast mode: the number of subscribers.
    broadcast: Option<usize>,
    /// Broadcast mode: the publisher's window.
    in_flight: usize,
    max_pending: usize,
    connect_timeout: Duration,
}

impl Opts {
    fn parse(mut f: Flags) -> Result<Self, String> {
        let addr: SocketAddr = f
            .parsed("addr")?
            .ok_or_else(|| "--addr is required".to_owned())?;
        if !addr.ip().is_loopback() {
            return Err(format!("{addr} is not a loopback address"));
        }
        let o = Self {
            addr,
            conns: f.parsed("conns")?.unwrap_or(100),
            size: f.parsed("size")?.unwrap_or(20),
            text: f.switch("text"),
            warmup: f.duration("warmup")?.unwrap_or(Duration::from_secs(2)),
            duration: f.duration("duration")?.unwrap_or(Duration::from_secs(5)),
            window: f.duration("window")?.unwrap_or(Duration::from_secs(1)),
            verify: f.switch("verify"),
            deflate: f.switch("deflate"),
            idle: f.parsed("idle")?,
            hold: f.duration("hold")?.unwrap_or(Duration::from_secs(5)),
            sources: f.parsed("sources")?.unwrap_or(0),
            broadcast: f.parsed("broadcast")?,
            in_flight: f.parsed("in-flight")?.unwrap_or(32),
            max_pending: f.parsed("max-pending")?.unwrap_or(256),
            connect_timeout: f
                .duration("connect-timeout")?
                .unwrap_or(Duration::from_secs(30)),
        };
        f.finish()?;
        if o.conns == 0 || o.idle == Some(0) || o.broadcast == Some(0) {
            return Err("need at least one connection".into());
        }
        if o.idle.is_some() && o.broadcast.is_some() {
            return Err("--idle and --broadcast exclude each other".into());
        }
        if o.broadcast.is_some() {
            if o.deflate || o.text {
                return Err("--broadcast sends binary messages without compression".into());
            }
            if o.in_flight == 0 || o.in_flight >= BROADCAST_PATTERNS {
                return Err(format!(
                    "--in-flight must be 1 to {}",
                    BROADCAST_PATTERNS - 1
                ));
            }
        }
        if o.window.is_zero() || o.duration.is_zero() || o.max_pending == 0 {
            return Err("--window, --duration and --max-pending must be positive".into());
        }
        Ok(o)
    }
}

/// What every connection shares: the pre-built request and frames.
struct Shared {
    /// The upgrade request (path `/`, or `/sub` in broadcast mode).
    request: Vec<u8>,
    /// Broadcast mode: the publisher's upgrade request (path `/pub`).
    pub_request: Vec<u8>,
    /// Masked frames, sent in turn (one per message); consecutive ones differ
    /// at both ends, so a stale echo is caught. Two, or in deflate mode enough
    /// to fill twice the server's window (see [`deflate_patterns`]).
    frames: Vec<Vec<u8>>,
    /// Their unmasked, uncompressed payloads: what the echo must equal.
    payloads: Vec<Vec<u8>>,
    opcode: u8,
    verify: bool,
    deflate: bool,
    /// Broadcast mode: subscribers only receive; the publisher is driven by [`Window`].
    broadcast: bool,
    size: usize,
}

/// Payloads cycled through in deflate mode: an even number (consecutive ones
/// alternate their end bytes, including across the wrap) covering 64 KiB, so
/// the server's 32 KiB window never holds an earlier copy of the message it
/// compresses — which would make its work unrealistically cheap.
fn deflate_patterns(size: usize) -> usize {
    let n = (64usize << 10).div_ceil(size.max(1)).clamp(2, 4096);
    n + n % 2
}

impl Shared {
    fn new(o: &Opts) -> Self {
        let offer = if o.deflate {
            format!("Sec-WebSocket-Extensions: {}\r\n", deflate::OFFER)
        } else {
            String::new()
        };
        let request = |path: &str| {
            format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n",
                o.addr
            )
            .into_bytes()
        };
        let broadcast = o.broadcast.is_some();
        let opcode = if o.text { wire::TEXT } else { wire::BINARY };
        let patterns = if broadcast { BROADCAST_PATTERNS } else { 2 };
        let (payloads, frames): (Vec<Vec<u8>>, Vec<Vec<u8>>) = if o.deflate {
            (0..deflate_patterns(o.size))
                .map(|k| {
                    let p = wire::records(k, o.size);
                    let z = deflate::compress_message(&p, DEFLATE_LEVEL);
                    let f = wire::compressed_client_frame(opcode, &z);
                    (p, f)
                })
                .unzip()
        } else {
            (0..patterns)
                .map(|k| {
                    let p: Vec<u8> = (0..o.size).map(|i| wire::pattern(k, i, o.text)).collect();
                    let f = wire::client_frame(opcode, &p);
                    (p, f)
                })
                .unzip()
        };
        Self {
            request: request(if broadcast { "/sub" } else { "/" }),
            pub_request: request("/pub"),
            frames,
            payloads,
            opcode,
            verify: o.verify,
            deflate: o.deflate,
            broadcast,
            size: o.size,
        }
    }

    /// Compressed ÷ raw payload bytes of what is sent (deflate mode).
    fn sent_ratio(&self) -> f64 {
        let header = |n: usize| {
            2 + 4
                + if n < 126 {
                    0
                } else if n <= 0xffff {
                    2
                } else {
                    8
                }
        };
        let raw: usize = self.payloads.iter().map(Vec::len).sum();
        let wire: usize = self.frames.iter().map(|f| f.len() - header(f.len())).sum();
        wire as f64 / raw.max(1) as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    SendingRequest,
    ReadingResponse,
    Open,
    Dead,
}

/// Counters shared by all connections.
#[derive(Default)]
struct Stats {
    completed: u64,
    /// Handshakes completed.
    opened: usize,
    /// Connections open now.
    open_now: usize,
    /// Connections (or connection attempts) that failed or died.
    dead: usize,
    errors: u64,
    first_error: Option<String>,
    /// Deflate mode: the first server answer.
    answer: Option<Answer>,
    /// Deflate mode: echoes that came compressed (RSV1) and that did not.
    compressed_echoes: u64,
    plain_echoes: u64,
    /// Deflate mode: payload bytes of the compressed echoes on the wire, and inflated.
    echo_wire_bytes: u64,
    echo_raw_bytes: u64,
    /// Broadcast mode: the publisher's window.
    window: Window,
}

/// Broadcast mode's flow control: which messages every subscriber has received.
///
/// Message `s` may be sent once every subscriber has received message `s - in_flight`.
/// `counts[s % in_flight]` counts the subscribers that have received message `s`, for the
/// messages sent and not yet received by all (`base .. published`); O(1) per delivery.
#[derive(Default)]
struct Window {
    /// The oldest message not yet received by every subscriber.
    base: u64,
    /// Messages the publisher has started to send.
    published: u64,
    counts: Vec<u32>,
    /// Subscribers alive; a dead one stops counting towards "every".
    subscribers: u32,
}

impl Window {
    fn new(in_flight: usize) -> Self {
        Self {
            counts: vec![0; in_flight],
            ..Self::default()
        }
    }

    /// Whether the publisher may send the next message.
    fn open(&self) -> bool {
        self.published < self.base + self.counts.len() as u64
    }

    /// A subscriber received message `seq`.
    fn ack(&mut self, seq: u64) {
        let n = self.counts.len() as u64;
        self.counts[(seq % n) as usize] += 1;
        self.advance();
    }

    /// Moves `base` past the messages every living subscriber has received.
    fn advance(&mut self) {
        let n = self.counts.len() as u64;
        while self.base < self.published {
            let slot = &mut self.counts[(self.base % n) as usize];
            if *slot < self.subscribers {
                break;
            }
            *slot = 0;
            self.base += 1;
        }
    }
}

impl Stats {
    fn error(&mut self, msg: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(msg);
        }
    }
}

struct Conn {
    sock: TcpStream,
    state: State,
    buf: Vec<u8>,
    /// Bytes in `buf` not yet consumed (a partial header, or the response so far).
    len: usize,
    /// Bytes of the request or of the current frame already written.
    out_off: usize,
    /// A frame is being written (or waits for WRITABLE).
    writing: bool,
    /// Index into [`Shared::frames`] of the message in flight.
    k: usize,
    /// Parser state of the echo being read.
    reader: EchoReader,
    /// Broadcast mode: this is the publisher (else a subscriber).
    publisher: bool,
    /// Broadcast mode: the next message a subscriber expects.
    seq: u64,
}

type Res<T> = Result<T, String>;

impl Conn {
    fn new(sock: TcpStream, buf_size: usize) -> Self {
        Self {
            sock,
            state: State::Connecting,
            buf: vec![0; buf_size],
            len: 0,
            out_off: 0,
            writing: false,
            // The first `send_next` moves on to frame 0.
            k: usize::MAX,
            reader: EchoReader::default(),
            publisher: false,
            seq: 0,
        }
    }

    /// Drives the connection after a readiness event. Returns `Ok(true)` when
    /// the handshake has just completed.
    fn on_event(&mut self, sh: &Shared, st: &mut Stats, sending: bool) -> Res<bool> {
        let mut opened = false;
        if self.state == State::Connecting {
            if let Some(e) = self.sock.take_error().map_err(|e| e.to_string())? {
                return Err(format!("connect: {e}"));
            }
            match self.sock.peer_addr() {
                Ok(_) => {
                    self.state = State::SendingRequest;
                    self.out_off = 0;
                }
                Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(false),
                Err(e) => return Err(format!("connect: {e}")),
            }
        }
        if self.state == State::SendingRequest {
            let request = if self.publisher {
                &sh.pub_request
            } else {
                &sh.request
            };
            if !write_some(&mut self.sock, request, &mut self.out_off)? {
                return Ok(false);
            }
            self.state = State::ReadingResponse;
        }
        if self.state == State::ReadingResponse {
            let Some(answer) = self.read_response()? else {
                return Ok(false);
            };
            match (sh.deflate, answer) {
                (true, Some(a)) => {
                    let inflater = Inflater::new(a.server_no_context_takeover, sh.size);
                    self.reader = EchoReader::with_inflater(inflater);
                    st.answer.get_or_insert(a);
                }
                (true, None) => return Err("server did not accept permessage-deflate".into()),
                (false, Some(a)) => {
                    return Err(format!(
                        "server answered an extension not offered: {}",
                        a.text
                    ));
                }
                (false, None) => {}
            }
            self.state = State::Open;
            opened = true;
            if sending && !sh.broadcast {
                self.send_next(sh)?;
            }
        }
        if self.state == State::Open {
            if self.writing {
                self.flush(sh)?;
            }
            self.read_frames(sh, st)?;
        }
        Ok(opened)
    }

    /// Reads the 101 response; once it is complete and valid, `Ok(Some(_))`
    /// with the extension the server answered, if any.
    fn read_response(&mut self) -> Res<Option<Option<Answer>>> {
        loop {
            if self.len == self.buf.len() {
                return Err("handshake response too large".into());
            }
            match self.sock.read(&mut self.buf[self.len..]) {
                Ok(0) => return Err("EOF during handshake".into()),
                Ok(n) => self.len += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("handshake read: {e}")),
            }
            let head = &self.buf[..self.len];
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = &head[..end];
                if !head.starts_with(b"HTTP/1.1 101") {
                    let line = head.split(|&b| b == b'\r').next().unwrap_or(b"");
                    return Err(format!(
                        "handshake refused: {}",
                        String::from_utf8_lossy(line)
                    ));
                }
                if !head.windows(ACCEPT.len()).any(|w| w == ACCEPT) {
                    return Err("wrong or missing Sec-WebSocket-Accept".into());
                }
                let answer = deflate::parse_answer(head)?;
                // Bytes after the head already belong to the WebSocket stream.
                let rest = end + 4;
                self.buf.copy_within(rest..self.len, 0);
                self.len -= rest;
                return Ok(Some(answer));
            }
        }
    }

    /// Starts writing the next message (the next pattern).
    fn send_next(&mut self, sh: &Shared) -> Res<()> {
        self.k = self.k.wrapping_add(1) % sh.frames.len();
        self.out_off = 0;
        self.writing = true;
        self.flush(sh)
    }

    /// Broadcast mode: parses deliveries in `buf[..len]`, each of which must be the next
    /// message in sequence; counts them and acknowledges them to the window.
    fn parse_broadcast(&mut self, sh: &Shared, st: &mut Stats) -> Res<()> {
        if self.publisher {
            return Err("the server sent a message to the publisher".into());
        }
        let mut pos = 0;
        loop {
            let exp = Expect {
                opcode: sh.opcode,
                payload: &sh.payloads[(self.seq % sh.payloads.len() as u64) as usize],
                verify: sh.verify,
            };
            let (n, complete) = self
                .reader
                .feed(&self.buf[pos..self.len], &exp)
                .map_err(|e| format!("delivery {}: {e}", self.seq))?;
            pos += n;
            if !complete {
                break;
            }
            if self.seq >= st.window.published {
                return Err(format!("delivery {} was never published", self.seq));
            }
            st.completed += 1;
            st.window.ack(self.seq);
            self.seq += 1;
        }
        self.buf.copy_within(pos..self.len, 0);
        self.len -= pos;
        Ok(())
    }

    /// Broadcast mode, the publisher: sends messages while the window is open.
    fn publish(&mut self, sh: &Shared, w: &mut Window) -> Res<()> {
        while self.state == State::Open && !self.writing && w.open() {
            self.k = (w.published % sh.frames.len() as u64) as usize;
            self.out_off = 0;
            self.writing = true;
            w.published += 1;
            self.flush(sh)?;
        }
        Ok(())
    }

    fn flush(&mut self, sh: &Shared) -> Res<()> {
        if write_some(&mut self.sock, &sh.frames[self.k], &mut self.out_off)? {
            self.writing = false;
        }
        Ok(())
    }

    /// Reads until the socket is drained, parsing echoed frames as they come.
    fn read_frames(&mut self, sh: &Shared, st: &mut Stats) -> Res<()> {
        // Leftover bytes from the handshake read.
        if self.len > 0 {
            self.parse(sh, st)?;
        }
        loop {
            let space = self.buf.len() - self.len;
            match self.sock.read(&mut self.buf[self.len..]) {
                Ok(0) => return Err("server closed the connection".into()),
                Ok(n) => {
                    self.len += n;
                    self.parse(sh, st)?;
                    // A short read means the socket was drained; on Linux epoll a later
                    // arrival raises a new edge, so this saves the EAGAIN read per event.
                    if n < space {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Parses the echo bytes in `buf[..len]`; a message that completes is
    /// counted and the next one sent at once. Keeps a trailing partial header.
    fn parse(&mut self, sh: &Shared, st: &mut Stats) -> Res<()> {
        if sh.broadcast {
            return self.parse_broadcast(sh, st);
        }
        let mut pos = 0;
        loop {
            let exp = Expect {
                opcode: sh.opcode,
                payload: &sh.payloads[self.k],
                verify: sh.verify,
            };
            let (n, complete) = self.reader.feed(&self.buf[pos..self.len], &exp)?;
            pos += n;
            if !complete {
                break;
            }
            st.completed += 1;
            if sh.deflate {
                match self.reader.last_message() {
                    (true, wire) => {
                        st.compressed_echoes += 1;
                        st.echo_wire_bytes += wire as u64;
                        st.echo_raw_bytes += sh.size as u64;
                    }
                    (false, _) => st.plain_echoes += 1,
                }
            }
            if self.writing {
                return Err("echo completed before the message was fully sent".into());
            }
            self.send_next(sh)?;
        }
        self.buf.copy_within(pos..self.len, 0);
        self.len -= pos;
        Ok(())
    }
}

/// Writes `data[*off..]`; `Ok(true)` once all of it is written.
fn write_some(sock: &mut TcpStream, data: &[u8], off: &mut usize) -> Res<bool> {
    while *off < data.len() {
        match sock.write(&data[*off..]) {
            Ok(0) => return Err("write returned 0".into()),
            Ok(n) => *off += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("write: {e}")),
        }
    }
    Ok(true)
}

/// Starts a non-blocking connect. `SO_LINGER 0` makes the final close a reset,
/// so no TIME_WAIT is left behind to eat ephemeral ports between runs.
/// With a `source`, the socket is bound to it (port 0: the kernel picks one) first.
fn start_connect(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_nonblocking(true)?;
    sock.set_tcp_nodelay(true)?;
    sock.set_linger(Some(Duration::ZERO))?;
    if let Some(ip) = source {
        sock.bind(&SocketAddr::new(ip, 0).into())?;
    }
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        // EINPROGRESS (115 on Linux): the connect goes on in the background.
        Err(e) if e.raw_os_error() == Some(EINPROGRESS) || e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(std::net::TcpStream::from(sock)))
}

struct Gen {
    poll: Poll,
    events: Events,
    conns: Vec<Conn>,
    shared: Shared,
    stats: Stats,
    /// Messages flow once the load phase has started.
    sending: bool,
    /// Source addresses connections are spread over (empty: the kernel's choice).
    sources: Vec<IpAddr>,
    /// Broadcast mode: the publisher's index in `conns`.
    publisher: Option<usize>,
}

/// Marks a connection dead, counting the error once.
fn kill(poll: &Poll, c: &mut Conn, st: &mut Stats, err: String) {
    if c.state == State::Dead {
        return;
    }
    if c.state == State::Open {
        st.open_now -= 1;
        if !c.publisher && st.window.subscribers > 0 {
            st.window.subscribers -= 1;
            st.window.advance();
        }
    }
    let _ = poll.registry().deregister(&mut c.sock);
    c.state = State::Dead;
    st.dead += 1;
    st.error(err);
}

impl Gen {
    /// One `poll` and the handling of its events.
    fn turn(&mut self, timeout: Duration) -> std::io::Result<()> {
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for ev in self.events.iter() {
            let i = ev.token().0;
            let c = &mut self.conns[i];
            if c.state == State::Dead {
                continue;
            }
            match c.on_event(&self.shared, &mut self.stats, self.sending) {
                Ok(true) => {
                    self.stats.opened += 1;
                    self.stats.open_now += 1;
                    if self.shared.broadcast && !c.publisher {
                        self.stats.window.subscribers += 1;
                    }
                }
                Ok(false) => {}
                Err(e) => kill(&self.poll, c, &mut self.stats, e),
            }
        }
        self.publish();
        Ok(())
    }

    /// Broadcast mode: lets the publisher send what the window allows.
    fn publish(&mut self) {
        let Some(p) = self.publisher.filter(|_| self.sending) else {
            return;
        };
        let c = &mut self.conns[p];
        if let Err(e) = c.publish(&self.shared, &mut self.stats.window) {
            kill(&self.poll, c, &mut self.stats, format!("publisher: {e}"));
        }
    }

    /// Opens `n` more connections, at most `max_pending` handshaking at once; in broadcast
    /// mode as subscribers, or as the publisher.
    fn connect_all(
        &mut self,
        o: &Opts,
        n: usize,
        buf_size: usize,
        publisher: bool,
    ) -> std::io::Result<Duration> {
        let t0 = Instant::now();
        let deadline = t0 + o.connect_timeout;
        let mut started = 0;
        let (opened0, dead0) = (self.stats.opened, self.stats.dead);
        loop {
            let (opened, dead) = (self.stats.opened - opened0, self.stats.dead - dead0);
            let pending = started - opened - dead;
            let mut room = o.max_pending.saturating_sub(pending);
            while room > 0 && started < n {
                let i = self.conns.len();
                let source = match self.sources.len() {
                    0 => None,
                    k => Some(self.sources[i % k]),
                };
                match start_connect(o.addr, source) {
                    Ok(mut sock) => {
                        self.poll.registry().register(
                            &mut sock,
                            Token(i),
                            Interest::READABLE | Interest::WRITABLE,
                        )?;
                        let mut conn = Conn::new(sock, buf_size);
                        conn.publisher = publisher;
                        self.conns.push(conn);
                    }
                    Err(e) => {
                        // Count it as a dead connection (e.g. EMFILE, EADDRNOTAVAIL).
                        self.stats.dead += 1;
                        self.stats.error(format!("connect: {e}"));
                    }
                }
                started += 1;
                room -= 1;
            }
            if self.stats.opened - opened0 + self.stats.dead - dead0 >= n {
                return Ok(t0.elapsed());
            }
            let now = Instant::now();
            if now >= deadline {
                let stuck: Vec<usize> = (0..self.conns.len())
                    .filter(|&i| !matches!(self.conns[i].state, State::Open | State::Dead))
                    .collect();
                for i in stuck {
                    kill(
                        &self.poll,
                        &mut self.conns[i],
                        &mut self.stats,
                        "connect timeout".into(),
                    );
                }
                return Ok(t0.elapsed());
            }
            self.turn((deadline - now).min(Duration::from_millis(100)))?;
        }
    }
}

fn self_ticks() -> u64 {
    procfs::cpu_ticks(std::process::id()).unwrap_or(0)
}

fn marker(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
}

fn main() {
    let o = Opts::parse(Flags::from_env()).unwrap_or_else(|e| die(&e, USAGE));
    let n = o.idle.or(o.broadcast.map(|s| s + 1)).unwrap_or(o.conns);
    let fd_limit = raise_fd_limit(n as u64 + 64);
    if fd_limit < n as u64 + 16 {
        eprintln!("warning: RLIMIT_NOFILE is {fd_limit}, too low for {n} connections");
    }
    let poll = Poll::new().unwrap_or_else(|e| die(&format!("epoll: {e}"), USAGE));
    let mut g = Gen {
        poll,
        events: Events::with_capacity(1024),
        conns: Vec::with_capacity(n),
        shared: Shared::new(&o),
        stats: Stats {
            window: Window::new(o.in_flight),
            ..Stats::default()
        },
        sending: false,
        sources: sources(&o, n),
        publisher: None,
    };
    let result = match (o.idle, o.broadcast) {
        (Some(n), _) => run_idle(&mut g, &o, n),
        (None, Some(subscribers)) => run_broadcast(&mut g, &o, subscribers),
        (None, None) => run_load(&mut g, &o),
    };
    match result {
        Ok(json) => {
            println!("{json}");
            let ok = g.stats.errors == 0;
            std::process::exit(if ok { 0 } else { 1 });
        }
        Err(e) => {
            println!("{}", serde_json::json!({ "fatal": e.to_string() }));
            std::process::exit(1);
        }
    }
}

/// The source addresses for `n` connections: none (the kernel's choice) when one is
/// enough, else 127.0.0.1, 127.0.0.2, … (all of 127.0.0.0/8 is loopback on Linux).
fn sources(o: &Opts, n: usize) -> Vec<IpAddr> {
    let k = match o.sources {
        0 => n.div_ceil(CONNS_PER_SOURCE),
        k => k,
    };
    if k <= 1 || !o.addr.ip().is_ipv4() {
        return Vec::new();
    }
    (1..=k.min(254))
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i as u8)))
        .collect()
}

fn run_idle(g: &mut Gen, o: &Opts, n: usize) -> std::io::Result<serde_json::Value> {
    let connect = g.connect_all(o, n, IDLE_BUF, false)?;
    let open_after_connect = g.stats.open_now;
    marker(&format!("IDLE_OPEN {open_after_connect}"));
    let end = Instant::now() + o.hold;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        g.turn(end - now)?;
    }
    let open = g.stats.open_now;
    Ok(serde_json::json!({
        "mode": "idle",
        "conns": n,
        "open_after_connect": open_after_connect,
        "open_at_end": open,
        "connect_s": connect.as_secs_f64(),
        "sources": g.sources.len().max(1),
        "hold_s": o.hold.as_secs_f64(),
        "errors": g.stats.errors,
        "first_error": g.stats.first_error,
    }))
}

fn run_load(g: &mut Gen, o: &Opts) -> std::io::Result<serde_json::Value> {
    let connect = g.connect_all(o, o.conns, load_buf(o.size), false)?;
    let open: Vec<usize> = (0..g.conns.len())
        .filter(|&i| g.conns[i].state == State::Open)
        .collect();
    marker(&format!("CONNECTED {}", open.len()));
    if open.is_empty() {
        return Err(std::io::Error::other(format!(
            "no connection opened: {}",
            g.stats.first_error.clone().unwrap_or_default()
        )));
    }
    // Every open connection puts its first message in flight.
    g.sending = true;
    for i in open {
        if let Err(e) = g.conns[i].send_next(&g.shared) {
            kill(&g.poll, &mut g.conns[i], &mut g.stats, e);
        }
    }
    measure(g, o, connect)
}

/// Broadcast mode: the subscribers, then the publisher, a pause, then deliveries
/// counted as in load mode.
fn run_broadcast(g: &mut Gen, o: &Opts, subscribers: usize) -> std::io::Result<serde_json::Value> {
    let connect = g.connect_all(o, subscribers, load_buf(o.size), false)?;
    let subscribed = g.stats.window.subscribers;
    if subscribed == 0 {
        return Err(std::io::Error::other(format!(
            "no subscriber connected: {}",
            g.stats.first_error.clone().unwrap_or_default()
        )));
    }
    let p = g.conns.len();
    g.connect_all(o, 1, load_buf(o.size), true)?;
    if g.conns.get(p).is_none_or(|c| c.state != State::Open) {
        return Err(std::io::Error::other(format!(
            "the publisher did not connect: {}",
            g.stats.first_error.clone().unwrap_or_default()
        )));
    }
    g.publisher = Some(p);
    marker(&format!("CONNECTED {}", subscribed + 1));
    run_until(g, Instant::now() + SETTLE)?;
    g.sending = true;
    g.publish();
    measure(g, o, connect)
}

/// Warm-up, then the measured window of a load or broadcast run, and the JSON line.
fn measure(g: &mut Gen, o: &Opts, connect: Duration) -> std::io::Result<serde_json::Value> {
    let start = Instant::now();
    run_until(g, start + o.warmup)?;
    marker("WINDOW_START");
    let t_start = Instant::now();
    let ticks_start = self_ticks();
    let done_start = g.stats.completed;
    let errors_start = g.stats.errors;
    let mut windows = Vec::new();
    let mut t_prev = t_start;
    let mut done_prev = done_start;
    let t_end = t_start + o.duration;
    while t_prev < t_end {
        let boundary = (t_prev + o.window).min(t_end);
        run_until(g, boundary)?;
        let now = Instant::now();
        let done = g.stats.completed;
        if o.broadcast.is_some() && done == done_prev {
            // A lost last delivery holds the window shut (a lost one followed by others is
            // caught as a wrong sequence); a server that got no CPU for a whole window
            // shows up here too.
            g.stats.error(
                "broadcast stalled: no delivery in a whole window (a lost delivery, or a server \
                 that did not run)"
                    .into(),
            );
        }
        windows.push((done - done_prev) as f64 / (now - t_prev).as_secs_f64());
        t_prev = now;
        done_prev = done;
    }
    marker("WINDOW_END");
    let elapsed = (t_prev - t_start).as_secs_f64();
    let ticks = self_ticks() - ticks_start;
    let msgs = g.stats.completed - done_start;
    let cpu_s = procfs::ticks_to_duration(ticks).as_secs_f64();
    let alive = g.stats.open_now;
    let broadcast = o.broadcast.map(|subscribers| {
        serde_json::json!({
            "subscribers": subscribers,
            "subscribers_at_end": g.stats.window.subscribers,
            "in_flight": o.in_flight,
            "published": g.stats.window.published,
            "received_by_all": g.stats.window.base,
        })
    });
    Ok(serde_json::json!({
        "mode": if broadcast.is_some() { "broadcast" } else { "load" },
        "conns": o.broadcast.map_or(o.conns, |s| s + 1),
        "size": o.size,
        "text": o.text,
        "verify": o.verify,
        "connect_s": connect.as_secs_f64(),
        "warmup_s": o.warmup.as_secs_f64(),
        "duration_s": elapsed,
        "msgs": msgs,
        "msgs_per_sec": msgs as f64 / elapsed,
        "windows": windows,
        "open_at_end": alive,
        "errors": g.stats.errors,
        "errors_in_window": g.stats.errors - errors_start,
        "first_error": g.stats.first_error,
        "cpu_s": cpu_s,
        "cpu_us_per_msg": if msgs > 0 { cpu_s * 1e6 / msgs as f64 } else { 0.0 },
        "deflate": deflate_json(g),
        "broadcast": broadcast,
    }))
}

/// Deflate mode: the negotiation and the compression seen, over the whole run
/// (warm-up included). `null` without `--deflate`.
fn deflate_json(g: &Gen) -> serde_json::Value {
    if !g.shared.deflate {
        return serde_json::Value::Null;
    }
    let st = &g.stats;
    let a = st.answer.as_ref();
    serde_json::json!({
        "offer": deflate::OFFER,
        "answer": a.map(|a| a.text.clone()),
        "server_no_context_takeover": a.map(|a| a.server_no_context_takeover),
        "client_no_context_takeover": a.map(|a| a.client_no_context_takeover),
        "level": DEFLATE_LEVEL,
        "patterns": g.shared.frames.len(),
        "sent_ratio": g.shared.sent_ratio(),
        "compressed_echoes": st.compressed_echoes,
        "plain_echoes": st.plain_echoes,
        "echo_ratio": (st.echo_raw_bytes > 0)
            .then(|| st.echo_wire_bytes as f64 / st.echo_raw_bytes as f64),
    })
}

fn run_until(g: &mut Gen, until: Instant) -> std::io::Result<()> {
    loop {
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        g.turn(until - now)?;
        if g.stats.open_now == 0 {
            return Err(std::io::Error::other(format!(
                "every connection died: {}",
                g.stats.first_error.clone().unwrap_or_default()
            )));
        }
        if let Some(p) = g.publisher
            && g.conns[p].state == State::Dead
        {
            return Err(std::io::Error::other(format!(
                "the publisher's connection died: {}",
                g.stats.first_error.clone().unwrap_or_default()
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Window;

    #[test]
    fn the_window_opens_when_every_subscriber_has_the_oldest_message() {
        let mut w = Window::new(2);
        w.subscribers = 2;
        assert!(w.open());
        w.published = 2;
        assert!(!w.open());
        w.ack(0);
        assert!(!w.open(), "one of two subscribers is not a window");
        w.ack(1);
        w.ack(0);
        assert_eq!(w.base, 1);
        assert!(w.open());
        w.ack(1);
        assert_eq!(w.base, 2);
        w.published = 4;
        // A subscriber that dies stops holding the window.
        w.ack(2);
        assert_eq!(w.base, 2);
        w.subscribers = 1;
        w.advance();
        assert_eq!(w.base, 3);
        // Nothing unpublished counts as received.
        w.subscribers = 0;
        w.advance();
        assert_eq!(w.base, 4);
    }
}
