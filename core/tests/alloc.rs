//! Decoding many small frames makes a bounded number of allocations, independent of how
//! many there are: nothing allocates per frame on the hot path.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use ropeway_core::{
    Bytes, BytesMut, Config, Connection, Event, MessageKind, PreparedMessage, SeededEntropy,
    SendOptions,
};

struct Counting;

thread_local! {
    // Per thread, so tests running in parallel do not count each other's allocations.
    // A const initializer: touching it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn count_one() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// `count` masked 20-byte binary frames, as a client sends them.
fn frames(count: usize) -> BytesMut {
    let now = Instant::now();
    let mut client = Connection::client(
        Config::default(),
        Box::new(SeededEntropy::from_seed([1; 32])),
        now,
    );
    let mut out = BytesMut::new();
    for i in 0..count {
        client.send(MessageKind::Binary, &[i as u8; 20]).unwrap();
        let bytes = client.poll_transmit(now);
        out.extend_from_slice(bytes);
        let n = bytes.len();
        client.advance_transmit(n);
    }
    out
}

/// Allocations made while a server decodes `count` frames (and drops the events).
fn allocations_decoding(count: usize) -> usize {
    let mut input = frames(count);
    let mut server = Connection::server(Config::default(), Instant::now());
    let before = allocations();
    let mut decoded = 0;
    while let Ok(Some(event)) = server.recv(&mut input) {
        let Event::Data(data) = event else {
            panic!("{event:?}")
        };
        assert_eq!(data.payload.len(), 20);
        decoded += 1;
    }
    let made = allocations() - before;
    assert_eq!(decoded, count);
    made
}

#[test]
fn decoding_small_frames_does_not_allocate_per_frame() {
    let small = allocations_decoding(100);
    let large = allocations_decoding(10_000);
    // Splitting the read buffer into shared `Bytes` allocates its shared header once.
    assert!(large <= 4, "10,000 frames made {large} allocations");
    assert_eq!(
        small, large,
        "allocations must not grow with the frame count"
    );
}

#[test]
fn encoding_small_frames_reuses_the_output_buffer() {
    let now = Instant::now();
    let mut server = Connection::server(Config::default(), now);
    let mut sent = 0;
    let before = allocations();
    for _ in 0..10_000 {
        server.send(MessageKind::Binary, &[7; 20]).unwrap();
        let n = server.poll_transmit(now).len();
        server.advance_transmit(n);
        sent += n;
    }
    let made = allocations() - before;
    assert_eq!(sent, 10_000 * 22);
    assert!(made <= 2, "10,000 sends made {made} allocations");
}

#[test]
fn a_lent_output_buffer_moves_between_idle_connections_without_allocating() {
    // An adapter's per-thread spare: each connection gives its buffer up when it goes idle
    // (holding none) and borrows the spare to send. The first round allocates the one
    // buffer that then goes round.
    let mut spare = None;
    let (mut conns, sent, made) = ten_servers_for_1000_rounds(|conn, now| {
        if let Some(buffer) = spare.take() {
            spare = conn.lend_output_buffer(buffer);
        }
        conn.send(MessageKind::Binary, &[7; 20]).unwrap();
        assert!(conn.transmit_is_contiguous());
        assert!(!conn.transmit_needs_time(), "a data frame starts no timer");
        let n = conn.poll_transmit(now).len();
        conn.advance_transmit(n);
        if spare.is_none() {
            spare = conn.take_output_buffer();
        }
        conn.shrink_buffers();
        n
    });
    assert_eq!(sent, 10 * 1_000 * 22);
    assert!(made == 0, "9,990 sends made {made} allocations");
    // A connection with output queued keeps its buffer.
    let conn = &mut conns[0];
    conn.send(MessageKind::Binary, &[7; 20]).unwrap();
    assert!(conn.take_output_buffer().is_none());
    assert!(
        conn.lend_output_buffer(BytesMut::with_capacity(64))
            .is_some()
    );
    conn.close(None).unwrap();
    assert!(
        conn.transmit_needs_time(),
        "a queued close starts the close timer"
    );
}

#[test]
fn a_broadcast_queues_small_prepared_frames_by_reference_without_allocating() {
    // Every subscriber gets the frame encoded once, by reference: no output buffer to
    // allocate and fill per member, and the queue of references outlives the idle time.
    let prepared = PreparedMessage::new(MessageKind::Binary, Bytes::from_static(&[7; 512]));
    let (_, sent, made) = ten_servers_for_1000_rounds(|conn, now| {
        for _ in 0..3 {
            conn.send_prepared(&prepared, SendOptions::default())
                .unwrap();
        }
        assert!(!conn.transmit_is_contiguous(), "queued by reference");
        let mut sent = 0;
        while conn.queued_output() > 0 {
            let n = conn.poll_transmit(now).len();
            conn.advance_transmit(n);
            sent += n;
        }
        conn.shrink_buffers();
        sent
    });
    assert_eq!(sent, 1_000 * 10 * 3 * 516);
    assert!(made == 0, "29,970 deliveries made {made} allocations");
}

/// Runs 1,000 rounds of `each` (which returns the bytes it wrote) over ten server
/// connections; returns them, the bytes written, and the allocations made after the first
/// round (which may set up what then goes round).
fn ten_servers_for_1000_rounds(
    mut each: impl FnMut(&mut Connection, Instant) -> usize,
) -> (Vec<Connection>, usize, usize) {
    let now = Instant::now();
    let mut conns: Vec<Connection> = (0..10)
        .map(|_| Connection::server(Config::default(), now))
        .collect();
    let (mut sent, mut before) = (0, 0);
    for round in 0..1_000 {
        if round == 1 {
            before = allocations();
        }
        for conn in &mut conns {
            sent += each(conn, now);
        }
    }
    (conns, sent, allocations() - before)
}
