//! permessage-deflate throughput: compressing and inflating 16 KiB messages of text-like
//! and of random (incompressible) data, with context takeover, through the codec the
//! connection uses. Messages walk through 1 MiB of distinct data.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use ropeway_core::BytesMut;
use ropeway_core::MessageKind;
use ropeway_core::deflate::{Direction, PerMessageDeflate};
use ropeway_core::extension::Extension;

const LEN: usize = 16 << 10;
/// Messages cycle through this much distinct data, so no message repeats within a window
/// (which would flatter context takeover).
const CORPUS: usize = 64 * LEN;

fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// The corpora: JSON-like text from random words (compresses about 3:1), and random bytes.
fn corpora() -> [(&'static str, Vec<u8>); 2] {
    let words = [
        "user", "event", "message", "ropeway", "socket", "frame", "deflate", "window", "id",
        "time", "value", "status", "ok", "error", "payload", "stream", "client", "server",
    ];
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    let mut text = Vec::with_capacity(CORPUS + 64);
    while text.len() < CORPUS {
        let r = next();
        let (k, v) = (
            words[r as usize % words.len()],
            words[(r >> 8) as usize % words.len()],
        );
        text.extend_from_slice(
            format!("{{\"{k}\":\"{v}\",\"n\":{}}}\n", (r >> 16) % 100_000).as_bytes(),
        );
    }
    text.truncate(CORPUS);
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let random = (0..CORPUS).map(|_| next() as u8).collect();
    [("text", text), ("random", random)]
}

/// The `i`th message of a corpus.
fn message(corpus: &[u8], i: usize) -> &[u8] {
    let start = (i * LEN) % CORPUS;
    &corpus[start..start + LEN]
}

fn codec(level: u32) -> PerMessageDeflate {
    let d = Direction {
        no_context_takeover: false,
        max_window_bits: 15,
    };
    PerMessageDeflate::new(d, d, level, 0)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate");
    group.throughput(Throughput::Bytes(LEN as u64));
    for (name, corpus) in corpora() {
        for level in [1, 6] {
            let mut tx = codec(level);
            let mut out = BytesMut::with_capacity(2 * LEN);
            let mut i = 0;
            group.bench_function(
                BenchmarkId::new(format!("compress_level{level}"), name),
                |b| {
                    b.iter(|| {
                        out.clear();
                        tx.encode_start(MessageKind::Binary, Some(LEN));
                        tx.encode(black_box(message(&corpus, i)), true, &mut out);
                        i += 1;
                        out.len()
                    })
                },
            );
        }
        // Inflate the corpus compressed as a stream of messages with context takeover, in
        // order (restarting the stream when it wraps).
        let mut tx = codec(6);
        let packed: Vec<Vec<u8>> = (0..CORPUS / LEN)
            .map(|i| {
                let mut out = BytesMut::new();
                tx.encode_start(MessageKind::Binary, Some(LEN));
                tx.encode(message(&corpus, i), true, &mut out);
                out.to_vec()
            })
            .collect();
        let ratio = CORPUS as f64 / packed.iter().map(Vec::len).sum::<usize>() as f64;
        eprintln!("deflate/{name}: compression ratio {ratio:.2} at level 6");
        group.bench_function(BenchmarkId::new("decompress", name), |b| {
            let mut rx = codec(6);
            let mut i = 0;
            let mut out = BytesMut::with_capacity(2 * LEN);
            b.iter(|| {
                if i == packed.len() {
                    rx = codec(6);
                    i = 0;
                }
                out.clear();
                rx.decode(black_box(&packed[i]), true, &mut out, 1 << 20)
                    .unwrap();
                i += 1;
                out.len()
            })
        });
    }
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
