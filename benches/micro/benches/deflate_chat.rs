//! permessage-deflate on chat traffic: short JSON messages (80–300 bytes), the lean mode
//! (no context takeover either way, one DEFLATE state per thread) against context takeover
//! (a state per connection). Prints each mode's compression ratio over the corpus; times
//! compressing and inflating one message. The question it answers: what does the lean mode,
//! which holds no DEFLATE state between messages, cost in ratio and in time?

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_main};
use ropeway_core::BytesMut;
use ropeway_core::MessageKind;
use ropeway_core::deflate::{Direction, PerMessageDeflate};
use ropeway_core::extension::Extension;

/// Chat messages in the corpus.
const MESSAGES: usize = 2_000;

fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Chat messages as a SignalR- or Socket.IO-style app sends them: a JSON envelope with a
/// room, a user, a timestamp and a sentence of 3–30 words.
fn chat_corpus() -> Vec<Vec<u8>> {
    let users = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    ];
    let rooms = ["lobby", "general", "random", "support", "dev"];
    let words = [
        "the", "a", "is", "to", "and", "you", "it", "that", "for", "on", "with", "this", "deploy",
        "build", "fixed", "broken", "lunch", "meeting", "today", "tomorrow", "thanks", "please",
        "review", "merge", "branch", "test", "server", "client", "socket", "ok", "yes", "no",
        "maybe", "great", "idea", "later", "now", "why", "how", "works", "failed", "again",
    ];
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    (0..MESSAGES)
        .map(|i| {
            let r = next();
            let count = 3 + (r % 28) as usize;
            let text: Vec<&str> = (0..count)
                .map(|_| words[next() as usize % words.len()])
                .collect();
            format!(
                "{{\"type\":\"message\",\"room\":\"{}\",\"user\":\"{}\",\"id\":{},\"ts\":{},\"text\":\"{}\"}}",
                rooms[(r >> 8) as usize % rooms.len()],
                users[(r >> 16) as usize % users.len()],
                100_000 + i,
                1_765_000_000_000u64 + (i as u64) * 1_337,
                text.join(" ")
            )
            .into_bytes()
        })
        .collect()
}

fn codec(no_context_takeover: bool) -> PerMessageDeflate {
    let d = Direction {
        no_context_takeover,
        max_window_bits: 15,
    };
    PerMessageDeflate::new(d, d, 6, 0)
}

fn compress(tx: &mut PerMessageDeflate, message: &[u8], out: &mut BytesMut) {
    out.clear();
    tx.encode_start(MessageKind::Text, Some(message.len()));
    tx.encode(message, true, out);
}

fn bench(c: &mut Criterion) {
    let corpus = chat_corpus();
    let plain: usize = corpus.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("deflate_chat");
    for (mode, no_context_takeover) in [("takeover", false), ("lean", true)] {
        let mut tx = codec(no_context_takeover);
        let mut out = BytesMut::new();
        let packed: Vec<Vec<u8>> = corpus
            .iter()
            .map(|m| {
                compress(&mut tx, m, &mut out);
                out.to_vec()
            })
            .collect();
        let sent: usize = packed.iter().map(Vec::len).sum();
        eprintln!(
            "deflate_chat/{mode}: {MESSAGES} messages, {plain} bytes -> {sent} ({:.2}:1)",
            plain as f64 / sent as f64
        );
        let mut tx = codec(no_context_takeover);
        let mut i = 0;
        group.bench_function(BenchmarkId::new("compress", mode), |b| {
            b.iter(|| {
                compress(&mut tx, black_box(&corpus[i % MESSAGES]), &mut out);
                i += 1;
                out.len()
            })
        });
        let mut rx = codec(no_context_takeover);
        let mut i = 0;
        group.bench_function(BenchmarkId::new("inflate", mode), |b| {
            b.iter(|| {
                if i == MESSAGES {
                    // The stream restarts with the corpus (a fresh peer).
                    rx = codec(no_context_takeover);
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
