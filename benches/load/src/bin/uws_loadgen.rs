//! uWebSockets' own load generators as a `loadgen` for the driver (`--generator uws`).
//!
//! Runs `uws_load_test` (echo: one message in flight per connection) or
//! `uws_broadcast_test` (every client sends one 20 B message per iteration and waits for
//! all N clients' messages: the server publishes each to all N, itself included), built
//! from uWebSockets' `benchmarks/` by `benches/load/uws/build.sh`, and turns their output
//! (a rate every 4 s, uSockets' timeout granularity) into this crate's markers and JSON
//! line. The windows are therefore 4 s long whatever `--window` says; warm-up and duration
//! are rounded up to whole windows.
//!
//! The generators check only byte counts, not contents, and send binary frames only:
//! `--text`, `--deflate` and `--verify` are refused. Broadcast needs a server that treats a
//! connection on `/` as publisher and subscriber at once (ropeway, ropeway-mio, uws).
//! `PID <n>` is printed first so the driver samples the generator's CPU, not this wrapper's.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ropeway_bench_load::cli::Flags;

/// uSockets' `LIBUS_TIMEOUT_GRANULARITY`: the generators print one rate per this period.
const PERIOD_S: u64 = 4;

const USAGE: &str = "usage: uws_loadgen --addr 127.0.0.1:PORT (--conns N --size S | --broadcast N \
[--size 20]) --warmup 2s --duration 5s [--window 1s] [--connect-timeout 30s]";

struct Opts {
    host: String,
    port: u16,
    conns: usize,
    size: usize,
    broadcast: bool,
    warmup: Duration,
    duration: Duration,
}

fn parse(mut f: Flags) -> Result<Opts, String> {
    let addr: std::net::SocketAddr = f.parsed("addr")?.ok_or("--addr is required")?;
    let conns: Option<usize> = f.parsed("conns")?;
    let broadcast: Option<usize> = f.parsed("broadcast")?;
    let size: usize = f.parsed("size")?.unwrap_or(20);
    let warmup = f.duration("warmup")?.unwrap_or(Duration::from_secs(2));
    let duration = f.duration("duration")?.unwrap_or(Duration::from_secs(5));
    // Accepted for the driver's sake; the generators have their own period and timeouts.
    let _ = f.value("window")?;
    let _ = f.value("connect-timeout")?;
    let _ = f.value("in-flight")?;
    for refused in ["text", "deflate", "verify"] {
        if f.switch(refused) {
            return Err(format!("--{refused}: uWebSockets' generators cannot do it"));
        }
    }
    f.finish()?;
    if broadcast.is_some() && size != 20 {
        return Err("broadcast_test sends 20 B messages only".into());
    }
    Ok(Opts {
        host: addr.ip().to_string(),
        port: addr.port(),
        conns: broadcast
            .or(conns)
            .ok_or("--conns or --broadcast is required")?,
        size,
        broadcast: broadcast.is_some(),
        warmup,
        duration,
    })
}

fn main() {
    let o = parse(Flags::from_env()).unwrap_or_else(|e| {
        eprintln!("uws_loadgen: {e}\n{USAGE}");
        std::process::exit(2)
    });
    match run(&o) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            println!("{}", serde_json::json!({ "fatal": e, "errors": 1 }));
            std::process::exit(1);
        }
    }
}

fn run(o: &Opts) -> Result<serde_json::Value, String> {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .ok_or("no executable directory")?;
    let (bin, mut args) = if o.broadcast {
        ("uws_broadcast_test", vec![])
    } else {
        ("uws_load_test", vec![])
    };
    args.extend([
        o.conns.to_string(),
        o.host.clone(),
        o.port.to_string(),
        "0".into(),
    ]);
    if !o.broadcast {
        args.extend(["0".into(), o.size.to_string()]);
    }
    let path = dir.join(bin);
    // stdbuf: the C programs' stdout is a pipe here, fully buffered without it.
    let mut child = Command::new("stdbuf")
        .arg("-oL")
        .arg(&path)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{} (run benches/load/uws/build.sh): {e}", path.display()))?;
    println!("PID {}", child.id());
    let started = Instant::now();
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let periods = |d: Duration| ((d.as_secs_f64() / PERIOD_S as f64).ceil() as u64).max(1);
    let (warm, measured) = (periods(o.warmup), periods(o.duration));
    let per_unit = if o.broadcast {
        (o.conns * o.conns) as f64
    } else {
        1.0
    };
    let (mut connect_s, mut seen, mut windows, mut errors, mut first_error) =
        (None, 0u64, Vec::new(), 0u64, None::<String>);
    let result = loop {
        let Some(Ok(line)) = lines.next() else {
            break Err(first_error
                .clone()
                .unwrap_or_else(|| "the generator exited".into()));
        };
        if line.starts_with("Running benchmark now") {
            connect_s = Some(started.elapsed().as_secs_f64());
            println!("CONNECTED {}", o.conns);
        } else if let Some(rate) = line.strip_prefix("Msg/sec: ").or_else(|| {
            line.split_once("): ")
                .map(|(_, r)| r)
                .filter(|_| line.starts_with("Iterations/second"))
        }) {
            let rate: f64 = rate.trim().parse().map_err(|e| format!("{line}: {e}"))?;
            seen += 1;
            if seen == warm {
                println!("WINDOW_START");
            } else if seen > warm {
                windows.push(rate * per_unit);
                if windows.len() as u64 == measured {
                    println!("WINDOW_END");
                    break Ok(());
                }
            }
        } else if line.starts_with("ERROR")
            || line.starts_with("Closed")
            || line.starts_with("Client was disconnected")
        {
            errors += 1;
            first_error.get_or_insert(line);
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result?;
    let msgs: f64 = windows.iter().map(|r| r * PERIOD_S as f64).sum();
    let secs = (windows.len() as u64 * PERIOD_S) as f64;
    Ok(serde_json::json!({
        "generator": bin,
        "msgs": msgs.round() as u64,
        "msgs_per_sec": msgs / secs,
        "windows": windows,
        "errors": errors,
        "first_error": first_error,
        "open_at_end": if errors == 0 { o.conns } else { 0 },
        "connect_s": connect_s,
    }))
}
