//! What 10,000 idle tokio connections cost the allocator, without tokio: the RSS of
//! 10,000 pairs of allocations shaped like a connection's two (tokio's `ScheduledIo`,
//! 256 bytes, and the task cell holding the connection's future), both 128-byte aligned
//! as tokio declares them, next to the same sizes at the default 16-byte alignment.
//!
//! ```text
//! cargo run -p ropeway-bench-load --release --bin aligned_slack
//! ```
//!
//! With glibc's malloc an aligned allocation goes through `memalign`, which leaves slack
//! around each block that later allocations of these sizes cannot use: this is the floor
//! under "RSS per idle connection" for any crate that spawns a tokio task per connection.

use std::hint::black_box;

use ropeway_bench_load::procfs;

/// Connections simulated per measurement.
const PAIRS: usize = 10_000;

#[repr(C, align(128))]
struct Aligned128<const N: usize>([u8; N]);

#[repr(C, align(16))]
struct Aligned16<const N: usize>([u8; N]);

/// RSS growth per pair, in bytes, after allocating `PAIRS` pairs with `make`.
fn per_pair<T>(make: impl Fn() -> T) -> usize {
    let rss = || procfs::rss_kib(std::process::id()).expect("/proc/self/status has VmRSS");
    // The vector's own buffer is allocated before the first reading.
    let mut held: Vec<T> = Vec::with_capacity(PAIRS);
    let before = rss();
    held.extend((0..PAIRS).map(|_| make()));
    let after = rss();
    black_box(&held);
    drop(held);
    (after.saturating_sub(before) as usize * 1024) / PAIRS
}

fn main() {
    // Each row runs in a fresh process so earlier rows leave no free chunks behind.
    if let Some(row) = std::env::args().nth(1) {
        let bytes = match row.as_str() {
            "640@128" => per_pair(|| {
                (
                    Box::new(Aligned128([1u8; 256])),
                    Box::new(Aligned128([1u8; 640])),
                )
            }),
            "640@16" => per_pair(|| {
                (
                    Box::new(Aligned16([1u8; 256])),
                    Box::new(Aligned16([1u8; 640])),
                )
            }),
            "512@128" => per_pair(|| {
                (
                    Box::new(Aligned128([1u8; 256])),
                    Box::new(Aligned128([1u8; 512])),
                )
            }),
            "384@128" => per_pair(|| {
                (
                    Box::new(Aligned128([1u8; 256])),
                    Box::new(Aligned128([1u8; 384])),
                )
            }),
            other => {
                eprintln!("aligned_slack: unknown row {other}");
                std::process::exit(2);
            }
        };
        println!("{bytes}");
        return;
    }
    println!("| task cell | alignment | live bytes per pair | RSS bytes per pair |");
    println!("|--:|--:|--:|--:|");
    let me = std::env::current_exe().expect("own path");
    for (row, cell, align) in [
        ("640@128", 640, 128),
        ("640@16", 640, 16),
        ("512@128", 512, 128),
        ("384@128", 384, 128),
    ] {
        let out = std::process::Command::new(&me)
            .arg(row)
            .output()
            .expect("runs itself");
        let rss = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        println!("| {cell} | {align} | {} | {rss} |", cell + 256);
    }
}
