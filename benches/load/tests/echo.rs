//! Every contender's server echoes what it gets, checked byte for byte by the
//! load generator, and holds idle connections. Correctness only: speed is
//! measured by the driver, never asserted here. Loopback only, bounded in time.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use ropeway_bench_load::{CONTENDERS, Contender};

/// The contenders to test: every cargo-built one, and uws only where `uws/build.sh` has put
/// its binary next to them (it is not built by cargo, nor in CI).
fn contenders() -> impl Iterator<Item = &'static Contender> {
    CONTENDERS
        .iter()
        .filter(|c| !c.external || bin(c.bin).is_file())
}

/// Cargo builds every binary of the package before its integration tests,
/// next to the `deps/` directory this test runs from.
fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join(name)
}

/// Kills and reaps the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(server: &str) -> (Server, String) {
    start_with(server, &[])
}

fn start_with(server: &str, extra: &[&str]) -> (Server, String) {
    let mut child = Command::new(bin(server))
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .env(ropeway_bench_load::server::EXIT_WITH_PARENT_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{server}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let server_proc = Server(child);
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{server} did not print READY"));
    let addr = line
        .trim()
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("{server}: unexpected first line {line:?}"))
        .to_owned();
    (server_proc, addr)
}

fn loadgen(args: &[&str]) -> serde_json::Value {
    let out = Command::new(bin("loadgen"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("loadgen runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// A short load run against `addr`: `conns` connections of `size`-byte messages, measured
/// over three 0.1 s windows after 0.1 s of warm-up, plus the `extra` flags.
fn short_load(addr: &str, conns: &str, size: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--addr",
        addr,
        "--conns",
        conns,
        "--size",
        size,
        "--warmup",
        "0.1s",
        "--duration",
        "0.3s",
        "--window",
        "0.1s",
        "--connect-timeout",
        "20s",
    ];
    args.extend_from_slice(extra);
    loadgen(&args)
}

#[test]
fn every_server_echoes_byte_for_byte() {
    for c in contenders() {
        let (_server, addr) = start(c.bin);
        for (conns, size, text) in [("3", "20", false), ("2", "70000", true), ("1", "0", false)] {
            let extra: &[&str] = if text {
                &["--verify", "--text"]
            } else {
                &["--verify"]
            };
            let r = short_load(&addr, conns, size, extra);
            let what = format!("{} {conns}x{size} text={text}: {r}", c.name);
            assert_eq!(r["errors"], 0, "{what}");
            assert!(r["msgs"].as_u64().unwrap_or(0) > 0, "{what}");
            assert_eq!(r["windows"].as_array().map(Vec::len), Some(3), "{what}");
        }
    }
}

#[test]
fn deflate_servers_compress_and_the_others_refuse() {
    for c in contenders() {
        if !c.deflate {
            // A crate without the extension must say so, not run uncompressed.
            let out = Command::new(bin(c.bin))
                .args(["--addr", "127.0.0.1:0", "--deflate"])
                .stdin(Stdio::null())
                .output()
                .expect("server runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{}: {stderr}", c.name);
            assert!(
                stderr.contains("permessage-deflate"),
                "{}: {stderr}",
                c.name
            );
            continue;
        }
        let (_server, addr) = start_with(c.bin, &["--deflate"]);
        // No empty messages: yawc 0.5.0 spins forever compressing the second empty
        // message of a connection (a sync flush with nothing new to flush writes
        // nothing, and it loops until the flush marker appears). The benchmark never
        // sends empty messages; the wire tests cover them on the load generator's side.
        for (conns, size) in [("3", "512"), ("1", "70000")] {
            let r = short_load(&addr, conns, size, &["--text", "--deflate", "--verify"]);
            let what = format!("{} {conns}x{size}: {r}", c.name);
            assert_eq!(r["errors"], 0, "{what}");
            assert!(r["msgs"].as_u64().unwrap_or(0) > 0, "{what}");
            let z = &r["deflate"];
            assert!(z["compressed_echoes"].as_u64().unwrap_or(0) > 0, "{what}");
            assert_eq!(z["plain_echoes"], 0, "{what}");
            let answer = z["answer"].as_str().unwrap_or_default();
            assert!(answer.starts_with("permessage-deflate"), "{what}");
            assert!(z["echo_ratio"].as_f64().unwrap_or(1.0) < 0.5, "{what}");
        }
        // Without --deflate the same server must not compress.
        let (_server, addr) = start(c.bin);
        let r = short_load(&addr, "1", "512", &["--text", "--verify"]);
        assert_eq!(r["errors"], 0, "{}: {r}", c.name);
        // And a server without --deflate refuses nothing but negotiates nothing.
        let r = short_load(&addr, "1", "512", &["--text", "--deflate"]);
        let fatal = r["fatal"].as_str().unwrap_or_default();
        assert!(
            fatal.contains("did not accept permessage-deflate"),
            "{}: {r}",
            c.name
        );
    }
}

#[test]
fn every_server_holds_idle_connections() {
    for c in contenders() {
        let (_server, addr) = start(c.bin);
        let r = loadgen(&["--addr", &addr, "--idle", "50", "--hold", "0.2s"]);
        assert_eq!(r["errors"], 0, "{}: {r}", c.name);
        assert_eq!(r["open_at_end"], 50, "{}: {r}", c.name);
    }
}

#[test]
fn loadgen_reports_a_refused_handshake() {
    // A plain TCP listener that answers with 400: the load generator must say so.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let r = loadgen(&[
        "--addr",
        &addr,
        "--conns",
        "1",
        "--warmup",
        "0s",
        "--duration",
        "0.1s",
    ]);
    let fatal = r["fatal"].as_str().unwrap_or_default();
    assert!(fatal.contains("400"), "{r}");
}

#[test]
fn every_server_broadcasts_to_every_subscriber() {
    for c in contenders() {
        let (_server, addr) = start_with(c.bin, &["--broadcast"]);
        for (subs, size, window) in [("20", "20", "32"), ("5", "512", "1"), ("3", "70000", "4")] {
            let r = loadgen(&[
                "--addr",
                &addr,
                "--broadcast",
                subs,
                "--size",
                size,
                "--in-flight",
                window,
                "--verify",
                "--warmup",
                "0.1s",
                "--duration",
                "0.3s",
                "--window",
                "0.1s",
            ]);
            let what = format!("{} {subs}x{size} window {window}: {r}", c.name);
            assert_eq!(r["errors"], 0, "{what}");
            assert_eq!(r["mode"], "broadcast", "{what}");
            let b = &r["broadcast"];
            assert_eq!(
                b["subscribers_at_end"].as_u64(),
                subs.parse().ok(),
                "{what}"
            );
            // Every subscriber received everything before the window's start, at least.
            let published = b["published"].as_u64().unwrap_or(0);
            let all = b["received_by_all"].as_u64().unwrap_or(0);
            assert!(
                all > 0 && published - all <= window.parse().unwrap(),
                "{what}"
            );
            assert!(r["msgs"].as_u64().unwrap_or(0) > 0, "{what}");
        }
    }
}

/// A hand-written broadcast server that forwards the publisher's messages to its one
/// subscriber but leaves out message `skip`: the load generator must report it.
#[test]
fn loadgen_reports_a_missed_delivery() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let skip = 3;
    std::thread::spawn(move || {
        // Reads a request head and answers 101 with the RFC example key's accept value.
        let upgrade = |s: &mut TcpStream| {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read_exact(&mut byte).is_ok() {
                head.push(byte[0]);
            }
            let _ = s.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            );
        };
        // The load generator connects the publisher once its subscribers are open.
        let Ok((mut sub, _)) = listener.accept() else {
            return;
        };
        upgrade(&mut sub);
        let Ok((mut publisher, _)) = listener.accept() else {
            return;
        };
        upgrade(&mut publisher);
        // Each message: 2-byte header, 4-byte mask, 20 masked payload bytes.
        let mut frame = [0u8; 26];
        let mut seq = 0;
        while publisher.read_exact(&mut frame).is_ok() {
            let (mask, payload) = frame[2..].split_at(4);
            let plain: Vec<u8> = payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            if seq != skip {
                let out = ropeway_bench_load::wire::server_frame(true, 2, &plain);
                if sub.write_all(&out).is_err() {
                    return;
                }
            }
            seq += 1;
        }
    });
    let r = loadgen(&[
        "--addr",
        &addr,
        "--broadcast",
        "1",
        "--size",
        "20",
        "--warmup",
        "0.1s",
        "--duration",
        "0.2s",
        "--window",
        "0.1s",
        "--connect-timeout",
        "5s",
    ]);
    let error = r["first_error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("delivery {skip}")), "{r}");
}

#[test]
fn idle_connections_spread_over_source_addresses() {
    let (_server, addr) = start(CONTENDERS[0].bin);
    let r = loadgen(&[
        "--addr",
        &addr,
        "--idle",
        "30",
        "--sources",
        "3",
        "--hold",
        "0.1s",
    ]);
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["open_at_end"], 30, "{r}");
    assert_eq!(r["sources"], 3, "{r}");
}
