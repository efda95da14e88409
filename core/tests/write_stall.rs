//! The write stall timer against a peer that reads a trickle: progress of a few bytes now
//! and then (the kernel's buffers growing, a slowloris reader) must not keep output queued
//! forever. Found on smol, whose transport retries the write at every wake-up and so made
//! such progress where tokio's readiness cache did not (issue #21: 40 stalled readers of
//! 16 MiB echoes still held 625 MiB at 45 s).

use std::time::{Duration, Instant};

use ropeway_core::{Config, Connection, ConnectionError, MessageKind};

const STALL: Duration = Duration::from_secs(30);

/// A server connection with `len` bytes of output queued and the write blocked at `now`.
fn blocked_with(len: usize, now: Instant) -> Connection {
    let mut conn = Connection::server(Config::default(), now);
    conn.send(MessageKind::Binary, &vec![7; len]).unwrap();
    let _ = conn.poll_transmit(now).len();
    conn.handle_write_blocked(now);
    conn
}

#[test]
fn a_trickle_of_progress_does_not_stop_the_write_stall_timer() {
    let start = Instant::now();
    let mut conn = blocked_with(1 << 20, start);
    let deadline = conn.poll_timeout().expect("the stall timer runs");
    // Every few seconds the transport takes a little, then blocks again.
    for second in (5..30).step_by(5) {
        let now = start + Duration::from_secs(second);
        let _ = conn.poll_transmit(now).len();
        conn.advance_transmit(1000);
        conn.handle_write_blocked(now);
        assert_eq!(
            conn.poll_timeout(),
            Some(deadline),
            "progress restarted the timer"
        );
    }
    conn.handle_timeout(start + STALL);
    assert_eq!(conn.error(), Some(&ConnectionError::WriteStalled));
}

#[test]
fn writing_the_whole_backlog_stops_the_write_stall_timer() {
    let start = Instant::now();
    let mut conn = blocked_with(100_000, start);
    let backlog = conn.queued_output();
    let later = start + Duration::from_secs(20);
    let _ = conn.poll_transmit(later).len();
    conn.advance_transmit(backlog - 1);
    assert!(conn.poll_timeout().is_some_and(|at| at <= start + STALL));
    conn.advance_transmit(1);
    conn.handle_timeout(start + STALL);
    assert_eq!(
        conn.error(),
        None,
        "a reader that drained the backlog in time stays"
    );
    // More output blocked later starts a fresh timer for the new backlog.
    conn.send(MessageKind::Binary, &[1; 10_000]).unwrap();
    let _ = conn.poll_transmit(later).len();
    conn.handle_write_blocked(later);
    assert!(conn.poll_timeout().is_some_and(|at| at >= later + STALL));
}
