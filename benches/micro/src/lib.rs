//! Criterion micro benchmarks for ropeway-core live in `benches/`; this library is empty.
