//! Memory held by permessage-deflate per connection, by window size, measured with a
//! counting allocator. `cargo test -p ropeway-core --test deflate_memory -- --nocapture`
//! prints the table the README quotes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ropeway_core::BytesMut;
use ropeway_core::MessageKind;
use ropeway_core::deflate::{Direction, PerMessageDeflate};
use ropeway_core::extension::Extension;

struct Counting;

thread_local! {
    // Live bytes allocated by this thread. Const-initialized: touching it never allocates.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

fn add(n: isize) {
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes a connection's codec holds between messages after sending and receiving one
/// message, as (compressor, inflater).
fn held_between_messages(bits: u8, no_context_takeover: bool) -> (isize, isize) {
    let d = Direction {
        no_context_takeover,
        max_window_bits: bits,
    };
    let message = b"a message that is long enough to be worth compressing, twice over. ".repeat(20);
    let mut peer = PerMessageDeflate::new(d, d, 6, 0);
    let mut packed = BytesMut::new();
    peer.encode_start(MessageKind::Text, Some(message.len()));
    peer.encode(&message, true, &mut packed);

    if no_context_takeover {
        // Without context takeover a finished message's state is parked for the thread's
        // next message (one compressor and one inflater per thread, not per connection):
        // park one first, so what is measured is what the connection itself holds.
        round_trip(&mut PerMessageDeflate::new(d, d, 6, 0), &message, &packed);
    }
    let before = live();
    let mut codec = PerMessageDeflate::new(d, d, 6, 0);
    let mut out = BytesMut::new();
    codec.encode_start(MessageKind::Text, Some(message.len()));
    codec.encode(&message, true, &mut out);
    drop(out);
    let compressor = live() - before;
    let mut inflated = BytesMut::new();
    codec.decode(&packed, true, &mut inflated, 1 << 20).unwrap();
    drop(inflated);
    let inflater = live() - before - compressor;
    drop(codec);
    (compressor, inflater)
}

/// Sends `message` and receives `packed` through `codec`.
fn round_trip(codec: &mut PerMessageDeflate, message: &[u8], packed: &[u8]) {
    let mut out = BytesMut::new();
    codec.encode_start(MessageKind::Text, Some(message.len()));
    codec.encode(message, true, &mut out);
    codec.decode(packed, true, &mut out, 1 << 20).unwrap();
}

#[test]
fn without_context_takeover_a_thread_holds_one_state_whatever_the_connections() {
    let d = Direction {
        no_context_takeover: true,
        max_window_bits: 15,
    };
    let message = b"a message that is long enough to be worth compressing, twice over. ".repeat(20);
    let mut packed = BytesMut::new();
    let mut peer = PerMessageDeflate::new(d, d, 6, 0);
    peer.encode_start(MessageKind::Text, Some(message.len()));
    peer.encode(&message, true, &mut packed);
    let before = live();
    let mut connections: Vec<_> = (0..100)
        .map(|_| PerMessageDeflate::new(d, d, 6, 0))
        .collect();
    let one = {
        round_trip(&mut connections[0], &message, &packed);
        live() - before
    };
    for codec in &mut connections[1..] {
        round_trip(codec, &message, &packed);
    }
    let all = live() - before;
    // The codecs' own fields aside (allocated before `before`), 100 connections that each
    // sent and received a message hold what one does: the thread's parked state.
    assert!(
        one > 32 << 10,
        "a compressor and an inflater are parked: {one} B"
    );
    assert_eq!(all, one, "every later connection reused the parked state");
}

#[test]
fn memory_per_connection_by_window_size() {
    println!(
        "| window bits | compressor (context takeover) | inflater (context takeover) | no context takeover |"
    );
    println!("|---:|---:|---:|---:|");
    let mut last = (0, 0);
    for bits in 9..=15 {
        let (c, i) = held_between_messages(bits, false);
        let (c0, i0) = held_between_messages(bits, true);
        println!(
            "| {bits} | {} KiB | {} KiB | {} B |",
            c / 1024,
            i / 1024,
            c0 + i0
        );
        assert_eq!(
            (c0, i0),
            (0, 0),
            "no context takeover frees both directions between messages"
        );
        assert!(c > 0 && i > 0);
        assert!(c >= last.0 && i >= last.1, "state grows with the window");
        last = (c, i);
    }
    // An 8-bit window compresses nothing (the backend's minimum is 9): no compressor at all.
    let eight = Direction {
        no_context_takeover: false,
        max_window_bits: 8,
    };
    let mut codec = PerMessageDeflate::new(eight, eight, 6, 0);
    assert_eq!(codec.encode_start(MessageKind::Text, Some(100)), None);
    assert_eq!(codec.holds_state(), (false, false));
}
