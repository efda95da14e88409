//! The frame codec: decoding (with in-place unmasking) a stream of small frames and of
//! large frames, and encoding them, through the public `Connection` API.

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_main};
use ropeway_core::{BytesMut, Config, Connection, Event, Limits, MessageKind, SeededEntropy};

fn config() -> Config {
    Config {
        limits: Limits {
            max_queued_output: usize::MAX,
            ..Limits::default()
        },
        ..Config::default()
    }
}

/// `count` masked binary frames of `len` bytes, as a client writes them.
fn client_frames(count: usize, len: usize) -> Vec<u8> {
    let now = Instant::now();
    let mut client = Connection::client(config(), Box::new(SeededEntropy::from_seed([1; 32])), now);
    let payload = vec![0xa5; len];
    for _ in 0..count {
        client.send(MessageKind::Binary, &payload).unwrap();
    }
    client.poll_transmit(now).to_vec()
}

fn decode_all(server: &mut Connection, input: &mut BytesMut) -> usize {
    let mut bytes = 0;
    while let Ok(Some(event)) = server.recv(input) {
        if let Event::Data(data) = event {
            bytes += data.payload.len();
        }
    }
    bytes
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (count, len, label) in [(10_000, 20, "20B"), (16, 1 << 20, "1MiB")] {
        let stream = client_frames(count, len);
        if len < 1024 {
            group.throughput(Throughput::Elements(count as u64));
        } else {
            group.throughput(Throughput::Bytes((count * len) as u64));
        }
        group.bench_function(BenchmarkId::new("masked_binary", label), |b| {
            let mut server = Connection::server(config(), Instant::now());
            b.iter_batched_ref(
                || BytesMut::from(&stream[..]),
                |input| black_box(decode_all(&mut server, input)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let now = Instant::now();
    for (count, len, label) in [(10_000, 20, "20B"), (16, 1 << 20, "1MiB")] {
        let payload = vec![0x5a; len];
        if len < 1024 {
            group.throughput(Throughput::Elements(count as u64));
        } else {
            group.throughput(Throughput::Bytes((count * len) as u64));
        }
        let mut server = Connection::server(config(), now);
        group.bench_function(BenchmarkId::new("server_unmasked", label), |b| {
            b.iter(|| {
                for _ in 0..count {
                    server
                        .send(MessageKind::Binary, black_box(&payload))
                        .unwrap();
                }
                let n = server.poll_transmit(now).len();
                server.advance_transmit(n);
            })
        });
        let mut client =
            Connection::client(config(), Box::new(SeededEntropy::from_seed([2; 32])), now);
        group.bench_function(BenchmarkId::new("client_masked", label), |b| {
            b.iter(|| {
                for _ in 0..count {
                    client
                        .send(MessageKind::Binary, black_box(&payload))
                        .unwrap();
                }
                let n = client.poll_transmit(now).len();
                client.advance_transmit(n);
            })
        });
    }
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::decode, super::encode);
}
criterion_main!(group::benches);
