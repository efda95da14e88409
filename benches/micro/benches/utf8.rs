//! UTF-8 validation throughput: the streaming validator against `std::str::from_utf8`, on
//! ASCII and on mixed multi-byte text, fed whole and in 1 KiB pieces.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use ropeway_core::utf8::Utf8Validator;

fn texts() -> [(&'static str, Vec<u8>); 2] {
    let ascii = "The quick brown fox jumps over the lazy dog. ".repeat(400);
    let mixed = "Grüße, κόσμε, 世界, 🦀 and some ASCII too. ".repeat(300);
    [("ascii", ascii.into_bytes()), ("mixed", mixed.into_bytes())]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    for (name, text) in texts() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::new("validator_whole", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.feed(black_box(&text)).unwrap();
                v.finish().unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("validator_1KiB_pieces", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                for piece in black_box(&text).chunks(1024) {
                    v.feed(piece).unwrap();
                }
                v.finish().unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("std_from_utf8", name), |b| {
            b.iter(|| std::str::from_utf8(black_box(&text)).unwrap().len())
        });
    }
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
