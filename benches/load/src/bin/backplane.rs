//! Groups across processes over Redis (issue #23's benchmark): deliveries per second and
//! the latency from publish to delivery, with the room's subscribers on one sample process
//! against the same subscribers split between two processes joined by the Redis backplane.
//!
//! ```sh
//! cargo build --release -p ropeway-echo -p ropeway-bench-load
//! target/release/backplane [--subscribers 1000] [--size 32] [--duration 5s] [--runtime tokio]
//!                          [--rate MESSAGES_PER_SECOND]
//! ```
//!
//! It starts a redis-server (Debian's, on a free loopback port) and the sample
//! (`target/release/ropeway-echo --backplane …`) itself. One publisher connection on the
//! first process says timestamped messages in the room; every subscriber checks the
//! sequence and records how long each took from the publisher's send. The publisher stays
//! at most `WINDOW` messages ahead of the slowest subscriber, so nothing queues without
//! bound (with `--rate` it also paces itself: the latency of a server that is not
//! saturated); a message lost on the way (at-most-once delivery) is counted after a second and
//! the window moves on. Server CPU is each sample process's user + system time over the
//! measured window, divided by the deliveries. All clients run in this process on one
//! thread: it is the same load generator for both layouts, so compare their ratio.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ropeway_bench_load::procfs;
use ropeway_tokio::{MaybeTlsStream, Message, WebSocket};

/// Messages the publisher may be ahead of the slowest subscriber.
const WINDOW: u64 = 16;
/// Slots of the per-message countdown ring (a power of two above the window).
const RING: usize = 1024;
/// How long the publisher waits for a message's last delivery before counting it lost.
const LOST_AFTER: Duration = Duration::from_secs(1);

struct Args {
    /// Messages per second the publisher paces itself to; 0: as fast as the window allows.
    rate: u64,
    subscribers: usize,
    size: usize,
    duration: Duration,
    runtime: String,
}

fn parse_args() -> Args {
    let mut args = Args {
        rate: 0,
        subscribers: 1000,
        size: 32,
        duration: Duration::from_secs(5),
        runtime: "tokio".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--subscribers" => args.subscribers = value().parse().expect("--subscribers N"),
            "--size" => args.size = value().parse().expect("--size BYTES"),
            "--duration" => {
                let v = value();
                let secs: f64 = v.trim_end_matches('s').parse().expect("--duration 5s");
                args.duration = Duration::from_secs_f64(secs);
            }
            "--runtime" => args.runtime = value(),
            "--rate" => args.rate = value().parse().expect("--rate MESSAGES_PER_SECOND"),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        args.size >= 32,
        "--size: at least 32 bytes (sequence and timestamp as text)"
    );
    args
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn wait_listening(port: u16) {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_redis() -> (Killed, String) {
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server (apt install redis-server)");
    wait_listening(port);
    (Killed(child), format!("redis://127.0.0.1:{port}"))
}

fn start_sample(runtime: &str, redis: &str) -> (Killed, u16) {
    let port = free_port();
    let binary = std::env::current_exe()
        .expect("this binary")
        .with_file_name("ropeway-echo");
    let child = Command::new(&binary)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--runtime",
            runtime,
        ])
        .args(["--backplane", redis, "--keep-alive", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "start {} (build ropeway-echo --release): {e}",
                binary.display()
            )
        });
    wait_listening(port);
    (Killed(child), port)
}

type Ws = WebSocket<MaybeTlsStream>;

async fn join(port: u16) -> Ws {
    let url = format!("ws://127.0.0.1:{port}/room?name=bench");
    ropeway_tokio::connect(&url).await.expect("join").0
}

/// What the subscribers share with the publisher.
struct Shared {
    start: Instant,
    /// Deliveries still missing per message (by sequence, modulo the ring).
    remaining: Vec<AtomicUsize>,
    deliveries: AtomicU64,
    /// Latencies in microseconds.
    latencies: std::sync::Mutex<Vec<u32>>,
    measuring: std::sync::atomic::AtomicBool,
}

/// The message: the sequence and the send time (ns since start), as text digits, padded.
fn message(sequence: u64, start: Instant, size: usize) -> String {
    let sent = start.elapsed().as_nanos() as u64;
    let mut text = format!("{sequence:011} {sent:020}");
    while text.len() < size {
        text.push('.');
    }
    text
}

async fn subscriber(mut ws: Ws, shared: Arc<Shared>) {
    while let Some(Ok(received)) = ws.recv().await {
        let Message::Text(text) = received else {
            continue;
        };
        let text = text.as_str();
        let (Ok(sequence), Ok(sent)) = (text[..11].parse::<u64>(), text[12..32].parse::<u64>())
        else {
            continue;
        };
        let now = shared.start.elapsed().as_nanos() as u64;
        shared.remaining[sequence as usize % RING].fetch_sub(1, Ordering::AcqRel);
        if shared.measuring.load(Ordering::Relaxed) {
            shared.deliveries.fetch_add(1, Ordering::Relaxed);
            // One thread runs every client: the lock is never contended.
            let latency = (now.saturating_sub(sent) / 1_000) as u32;
            shared.latencies.lock().unwrap().push(latency);
        }
    }
}

struct Outcome {
    deliveries_per_sec: f64,
    p50_us: u32,
    p99_us: u32,
    max_us: u32,
    lost: u64,
    server_cpu_us_per_delivery: f64,
}

async fn run_layout(ports: &[u16], pids: &[u32], args: &Args) -> Outcome {
    let shared = Arc::new(Shared {
        start: Instant::now(),
        remaining: (0..RING).map(|_| AtomicUsize::new(0)).collect(),
        deliveries: AtomicU64::new(0),
        latencies: std::sync::Mutex::new(Vec::new()),
        measuring: false.into(),
    });
    let mut tasks = Vec::new();
    for i in 0..args.subscribers {
        let ws = join(ports[i % ports.len()]).await;
        tasks.push(tokio::task::spawn_local(subscriber(ws, shared.clone())));
    }
    let publisher = join(ports[0]).await;
    let (mut reader, writer) = publisher.split();
    // The publisher hears its own messages too: drained.
    tokio::task::spawn_local(async move { while reader.recv().await.is_some() {} });
    // Every subscriber's group channel is subscribed moments after it joined: wait until a
    // probe reaches all of them, and until then keep saying probes.
    let mut sequence = 0u64;
    let warmup_end = Instant::now() + Duration::from_secs(2);
    let mut measured_from = None;
    let mut cpu_from = 0;
    let mut lost = 0;
    let deadline_after = |from: Instant| from + args.duration;
    loop {
        let now = Instant::now();
        if measured_from.is_none() && now >= warmup_end {
            measured_from = Some(now);
            cpu_from = pids
                .iter()
                .filter_map(|&p| procfs::cpu_ticks(p))
                .sum::<u64>();
            shared.measuring.store(true, Ordering::Relaxed);
        }
        if measured_from.is_some_and(|from| now >= deadline_after(from)) {
            break;
        }
        // The window: message `sequence - WINDOW` must have reached everyone.
        if sequence >= WINDOW {
            let slot = &shared.remaining[(sequence - WINDOW) as usize % RING];
            let waited = Instant::now();
            while slot.load(Ordering::Acquire) > 0 {
                if waited.elapsed() > LOST_AFTER {
                    lost += slot.swap(0, Ordering::AcqRel) as u64;
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        if args.rate > 0 {
            // Paced: the latency of a server that is not saturated.
            let due = shared.start + Duration::from_secs_f64(sequence as f64 / args.rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        shared.remaining[sequence as usize % RING].store(args.subscribers, Ordering::Release);
        writer
            .send(Message::text(message(sequence, shared.start, args.size)))
            .await
            .expect("publish");
        sequence += 1;
    }
    let elapsed = measured_from.expect("measured").elapsed();
    shared.measuring.store(false, Ordering::Relaxed);
    let cpu_to = pids
        .iter()
        .filter_map(|&p| procfs::cpu_ticks(p))
        .sum::<u64>();
    let deliveries = shared.deliveries.load(Ordering::Relaxed);
    drop(writer);
    for task in tasks {
        task.abort();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut latencies = std::mem::take(&mut *shared.latencies.lock().unwrap());
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    let cpu = procfs::ticks_to_duration(cpu_to - cpu_from);
    Outcome {
        deliveries_per_sec: deliveries as f64 / elapsed.as_secs_f64(),
        p50_us: at(0.5),
        p99_us: at(0.99),
        max_us: latencies.last().copied().unwrap_or(0),
        lost,
        server_cpu_us_per_delivery: cpu.as_secs_f64() * 1e6 / deliveries.max(1) as f64,
    }
}

fn main() {
    let args = parse_args();
    let (_redis, url) = start_redis();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    println!(
        "| layout | runtime | subscribers | size | rate | deliveries/s | p50 µs | p99 µs | max µs | lost | server CPU µs/delivery |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for processes in [1, 2] {
        let samples: Vec<(Killed, u16)> = (0..processes)
            .map(|_| start_sample(&args.runtime, &url))
            .collect();
        let ports: Vec<u16> = samples.iter().map(|(_, port)| *port).collect();
        let pids: Vec<u32> = samples.iter().map(|(child, _)| child.0.id()).collect();
        let outcome = local.block_on(&runtime, run_layout(&ports, &pids, &args));
        let layout = if processes == 1 {
            "one process".to_owned()
        } else {
            format!("{processes} processes over Redis")
        };
        let rate = match args.rate {
            0 => "max".to_owned(),
            rate => format!("{rate}/s"),
        };
        println!(
            "| {layout} | {} | {} | {} B | {rate} | {:.0} | {} | {} | {} | {} | {:.3} |",
            args.runtime,
            args.subscribers,
            args.size,
            outcome.deliveries_per_sec,
            outcome.p50_us,
            outcome.p99_us,
            outcome.max_us,
            outcome.lost,
            outcome.server_cpu_us_per_delivery,
        );
    }
}
