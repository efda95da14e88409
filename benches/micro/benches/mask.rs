//! Masking throughput: the dispatching `apply_mask` against the byte-at-a-time
//! reference, at a small frame (1 KiB), a typical large read (16 KiB, fits in L1/L2)
//! and a big message (1 MiB, bound by cache/memory bandwidth).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use ropeway_core::mask::{apply_mask, apply_mask_scalar};

const SIZES: [(usize, &str); 3] = [(1 << 10, "1KiB"), (16 << 10, "16KiB"), (1 << 20, "1MiB")];

fn bench(c: &mut Criterion) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut group = c.benchmark_group("mask");
    for (len, label) in SIZES {
        group.throughput(Throughput::Bytes(len as u64));
        // Masking in place flips the buffer back and forth between iterations,
        // which is fine: the work per byte does not depend on its value.
        let mut buf = vec![0x5a_u8; len];
        group.bench_function(BenchmarkId::new("apply_mask", label), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), black_box(key)))
        });
        group.bench_function(BenchmarkId::new("apply_mask_scalar", label), |b| {
            b.iter(|| apply_mask_scalar(black_box(&mut buf), black_box(key)))
        });
    }
    group.finish();
}

// `criterion_group!` defines an undocumented `pub fn`, which the workspace's
// `missing_docs` lint rejects in this bench crate's root.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
