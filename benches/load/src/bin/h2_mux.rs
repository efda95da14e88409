//! 100 WebSockets multiplexed over one HTTP/2 connection (RFC 8441) against 100 WebSockets
//! on their own TCP connections, echoing 20 B and 16 KiB messages: messages per second,
//! server CPU per message and server memory per WebSocket.
//!
//! The server is a child process (this binary with `server MODE`) on one tokio thread, so
//! `/proc/<pid>` gives its CPU time and RSS alone:
//! * `serve`: `ropeway_tokio::h2::serve`, which takes HTTP/2 extended CONNECT and HTTP/1.1
//!   upgrades on one port (hyper), measured with an HTTP/2 client and an HTTP/1.1 client;
//! * `raw`: the plain ropeway accept loop (`ropeway_tokio::accept` over TCP), the HTTP/1.1
//!   baseline without hyper.
//!
//! The client runs on one tokio thread of this process: one message in flight per
//! WebSocket, all WebSockets at once, for `--secs` after a one-second warm-up.
//!
//! ```text
//! cargo run --release -p ropeway-bench-load --bin h2_mux -- [--conns 100] [--secs 5]
//! ```

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper::body::Bytes;
use ropeway_bench_load::procfs;
use ropeway_tokio::h2::{H2Client, H2Options, ServeConfig, serve};
use ropeway_tokio::{ClientConfig, Message, ServerConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("server") {
        run_server(args.get(1).map_or("serve", String::as_str));
        return;
    }
    let flag = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let conns = flag("--conns", 100) as usize;
    let secs = flag("--secs", 5);
    println!(
        "| client → server | size | msgs/s | server CPU µs/msg | server RSS KiB per WebSocket |"
    );
    println!("|---|---:|---:|---:|---:|");
    for size in [20, 16 * 1024] {
        for (h2, server) in [(true, "serve"), (false, "serve"), (false, "raw")] {
            let r = run(h2, server, conns, size, secs);
            let client = if h2 {
                format!("{conns} on HTTP/2, 1 connection")
            } else {
                format!("{conns} on HTTP/1.1, {conns} connections")
            };
            let server_name = if server == "serve" {
                "h2::serve"
            } else {
                "ropeway accept"
            };
            println!(
                "| {client} → {server_name} | {size} | {:.0} | {:.2} | {:.1} |",
                r.msgs_per_sec, r.cpu_us_per_msg, r.rss_kib_per_ws
            );
        }
    }
}

struct Result {
    msgs_per_sec: f64,
    cpu_us_per_msg: f64,
    rss_kib_per_ws: f64,
}

/// Starts the server child, connects `conns` WebSockets, measures.
fn run(h2: bool, server: &str, conns: usize, size: usize, secs: u64) -> Result {
    let exe = std::env::current_exe().unwrap();
    let mut child: Child = Command::new(exe)
        .args(["server", server])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line.trim().parse().unwrap();
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(200));
    let rss_before = procfs::rss_kib(pid).unwrap_or(0);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        let config = ClientConfig::default();
        let url = format!("ws://{addr}/ws");
        let client = if h2 {
            Some(
                H2Client::connect(&url, &config, &H2Options::default())
                    .await
                    .unwrap(),
            )
        } else {
            None
        };
        let counter = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel::<()>(conns);
        let (start_tx, start_rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..conns {
            let client = client.clone();
            let url = url.clone();
            let counter = counter.clone();
            let stop = stop.clone();
            let opened_tx = opened_tx.clone();
            let mut start = start_rx.clone();
            tasks.push(tokio::spawn(async move {
                let payload = Message::binary(vec![0x5a; size]);
                macro_rules! echo_loop {
                    ($ws:expr) => {{
                        let mut ws = $ws;
                        opened_tx.send(()).await.unwrap();
                        // Every WebSocket is open (and measured idle) before the first message.
                        let _ = start.wait_for(|go| *go).await;
                        while !stop.load(Ordering::Relaxed) {
                            ws.send(payload.clone()).await.unwrap();
                            match ws.recv().await {
                                Some(Ok(_)) => {}
                                other => panic!("{other:?}"),
                            }
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        let _ = ws.close(None).await;
                    }};
                }
                match client {
                    Some(client) => echo_loop!(client.websocket("/ws").await.unwrap().0),
                    None => echo_loop!(ropeway_tokio::connect(&url).await.unwrap().0),
                }
            }));
        }
        for _ in 0..conns {
            opened_rx.recv().await.unwrap();
        }
        // All open and idle: the memory they hold.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rss_open = procfs::rss_kib(pid).unwrap_or(0);
        start_tx.send(true).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await; // warm-up
        let count0 = counter.load(Ordering::Relaxed);
        let cpu0 = procfs::cpu_ticks(pid).unwrap_or(0);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let count1 = counter.load(Ordering::Relaxed);
        let cpu1 = procfs::cpu_ticks(pid).unwrap_or(0);
        let elapsed = t0.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        let msgs = (count1 - count0) as f64;
        let cpu = procfs::ticks_to_duration(cpu1 - cpu0).as_secs_f64();
        Result {
            msgs_per_sec: msgs / elapsed,
            cpu_us_per_msg: cpu * 1e6 / msgs,
            rss_kib_per_ws: rss_open.saturating_sub(rss_before) as f64 / conns as f64,
        }
    });
    drop(child.stdin.take());
    let _ = child.wait();
    result
}

/// The server child: prints its address, serves until stdin closes.
fn run_server(mode: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            let _ = eof_tx.send(());
        });
        let ws_config = ServerConfig::default();
        if mode == "raw" {
            let accept = async {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(async move {
                        if let Ok(ws) = ropeway_tokio::accept(tcp).await {
                            echo(ws).await;
                        }
                    });
                }
            };
            tokio::select! {
                () = accept => {}
                _ = eof_rx => {}
            }
            return;
        }
        let handler = move |mut request: hyper::Request<hyper::body::Incoming>| {
            let upgraded =
                ropeway_tokio::hyper::upgrade::<_, Empty<Bytes>>(&mut request, &ws_config);
            async move {
                match upgraded {
                    Ok((response, pending)) => {
                        tokio::spawn(async move {
                            if let Ok(ws) = pending.await {
                                echo(ws).await;
                            }
                        });
                        response
                    }
                    Err(e) => {
                        let mut response = hyper::Response::new(Empty::new());
                        *response.status_mut() = ropeway_tokio::hyper::status_for(&e);
                        response
                    }
                }
            }
        };
        let _ = serve(listener, None, ServeConfig::default(), handler, async {
            let _ = eof_rx.await;
        })
        .await;
    });
}

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut ws: ropeway_tokio::WebSocket<S>,
) {
    while let Some(Ok(message)) = ws.recv().await {
        if message.is_data() && ws.send(message).await.is_err() {
            return;
        }
    }
}
