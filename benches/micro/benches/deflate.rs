//! permessage-deflate throughput: compressing and inflating 16 KiB messages of text-like
//! and of random (incompressible) data, with context takeover, through the codec the
//! connection uses.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use ropeway_core::BytesMut;
use ropeway_core::MessageKind;
use ropeway_core::deflate::{Direction, PerMessageDeflate};
use ropeway_core::extension::Extension;

const LEN: usize = 16 << 10;

fn payloads() -> [(&'static str, Vec<u8>); 2] {
    let text = "{\"user\":\"ropeway\",\"event\":\"message\",\"body\":\"the quick brown fox jumps over the lazy dog\",\"seq\":12345}\n"
        .repeat(LEN / 90 + 1)
        .into_bytes()[..LEN]
        .to_vec();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let random = (0..LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    [("text", text), ("random", random)]
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
    for (name, payload) in payloads() {
        for level in [1, 6] {
            let mut tx = codec(level);
            let mut out = BytesMut::with_capacity(2 * LEN);
            group.bench_function(
                BenchmarkId::new(format!("compress_level{level}"), name),
                |b| {
                    b.iter(|| {
                        out.clear();
                        tx.encode_start(MessageKind::Binary, Some(LEN));
                        tx.encode(black_box(&payload), true, &mut out);
                        out.len()
                    })
                },
            );
        }
        // Inflate a stream of messages compressed with context takeover, in order.
        let mut tx = codec(6);
        let packed: Vec<Vec<u8>> = (0..64)
            .map(|_| {
                let mut out = BytesMut::new();
                tx.encode_start(MessageKind::Binary, Some(LEN));
                tx.encode(&payload, true, &mut out);
                out.to_vec()
            })
            .collect();
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
