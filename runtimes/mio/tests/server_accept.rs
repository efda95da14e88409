//! The accept loop out of descriptors: it pauses (through the loop's deadline heap) instead
//! of spinning, and accepts the waiting connections once descriptors are free again.
//!
//! The only test in its file: it lowers this test process's descriptor limit (with the
//! `prlimit` tool, util-linux), which would disturb any test running beside it.

mod server_support;

use std::io::{Read, Seek, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ropeway_mio::Message;
use ropeway_mio::server::{Config, ConnId, Context, Decision, Handler, Incoming, Server};
use server_support::{raw, read_head, upgrade_request};

/// Echoes; the text "block" holds the loop until the gate opens.
#[derive(Clone)]
struct Gated(Arc<Mutex<Receiver<()>>>);

impl Handler for Gated {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        if message.as_text() == Some("block") {
            let _ = self
                .0
                .lock()
                .expect("lock")
                .recv_timeout(Duration::from_secs(10));
        } else {
            let _ = cx.send(id, message);
        }
    }
}

/// Sets this process's soft limit on descriptors; false if `prlimit` is missing.
fn set_soft_limit(soft: usize, hard: &str) -> bool {
    let pid = std::process::id().to_string();
    Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={soft}:{hard}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// The scheduler state letter of the thread whose stat file is open (R running or
/// runnable, S sleeping …), re-read through the open file: once descriptors are gone, no
/// file could be opened.
fn thread_state(stat: &mut std::fs::File) -> char {
    let mut text = String::new();
    stat.rewind().expect("rewind");
    stat.read_to_string(&mut text).expect("read stat");
    let after_name = text.rsplit(')').next().unwrap_or("");
    after_name.trim_start().chars().next().unwrap_or('?')
}

/// The stat file of this process's thread named `name`.
fn thread_stat(name: &str) -> std::fs::File {
    for task in std::fs::read_dir("/proc/self/task")
        .expect("tasks")
        .flatten()
    {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            return std::fs::File::open(task.path().join("stat")).expect("stat");
        }
    }
    panic!("no thread named {name}");
}

#[test]
#[cfg(target_os = "linux")]
fn out_of_descriptors_the_loop_pauses_accepting_and_resumes_without_spinning() {
    let hard = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits
                .lines()
                .find(|l| l.starts_with("Max open files"))?
                .to_owned();
            line.split_whitespace().nth(4).map(str::to_owned)
        })
        .unwrap_or_else(|| "unlimited".to_owned());
    let (open_gate, gate) = channel();
    let server = Server::bind("127.0.0.1:0", Config::default()).expect("bind");
    let addr = server.local_addr().expect("addr");
    let running = server
        .spawn(Gated(Arc::new(Mutex::new(gate))))
        .expect("spawn");
    // Hold the loop in its handler, so the clients below wait in the backlog.
    let mut holder = raw(addr);
    holder
        .write_all(upgrade_request("/ws", "").as_bytes())
        .expect("write");
    assert!(read_head(&mut holder).starts_with("HTTP/1.1 101"));
    // The loop runs (and has named its thread) by now.
    let mut stat = thread_stat("ropeway-mio-0");
    holder
        .write_all(&server_support::client_frame(0x1, true, b"block"))
        .expect("write");
    std::thread::sleep(Duration::from_millis(100));

    let clients_count = 3;
    let open = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    if !set_soft_limit(open + 16, &hard) {
        eprintln!("prlimit is not available: skipped");
        return;
    }
    // Take every free descriptor, then give back just enough for the clients.
    let mut fillers = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        fillers.push(file);
        assert!(fillers.len() < 100, "the limit did not apply");
    }
    fillers.truncate(fillers.len() - clients_count);
    let mut clients: Vec<TcpStream> = (0..clients_count)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    for client in &mut clients {
        client
            .write_all(upgrade_request("/ws", "").as_bytes())
            .expect("write");
    }
    // The loop goes on: its accept finds no descriptor.
    open_gate.send(()).expect("open the gate");
    std::thread::sleep(Duration::from_millis(50));
    // A spinning accept loop is always running (or waiting for a core); a paused one
    // sleeps in the poll.
    let mut running_samples = 0;
    for _ in 0..50 {
        if thread_state(&mut stat) == 'R' {
            running_samples += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        running_samples < 25,
        "the loop ran in {running_samples} of 50 samples"
    );
    // Nobody was served meanwhile: accepting failed.
    clients[0]
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    let read = clients[0].read(&mut byte);
    assert!(read.is_err(), "accepted without descriptors: {read:?}");
    // Descriptors come back: the waiting clients are accepted and answered.
    drop(fillers);
    for client in &mut clients {
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        assert!(read_head(client).starts_with("HTTP/1.1 101"));
    }
    assert!(set_soft_limit(open + 1024, &hard));
    running.stop().expect("the loop ended cleanly");
}
