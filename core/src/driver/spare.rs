//! Spare output buffers per thread, passed between connections.
//!
//! An idle connection holds no output buffer: it gives its buffer up whenever it waits for
//! input. Freeing it then and allocating a new one for the next reply costs a malloc/free
//! pair per message in a request/response exchange; parking it here instead lets the next
//! connection on this thread encode into it. An event loop queues the replies of every
//! connection that was readable in one turn and writes them all at the turn's end, so one
//! spare is not enough: that many connections hold a buffer at once. The thread keeps up to
//! [`SPARES`] of them, each no larger than the core lets an idle connection keep (16 KiB).

use std::cell::RefCell;

use crate::connection::Connection;
use bytes::BytesMut;

/// The most spare buffers a thread keeps: 64 replies in flight in one turn without an
/// allocation, at most 1 MiB held (usually far less: a 20 B echo's buffer is 64 B).
const SPARES: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// Lends one of the thread's spare buffers to `conn` if it has none of its own.
pub(crate) fn lend_to(conn: &mut Connection) {
    if conn.holds_output_buffer() {
        return;
    }
    SPARE.with_borrow_mut(|spares| {
        if let Some(buffer) = spares.pop()
            && let Some(refused) = conn.lend_output_buffer(buffer)
        {
            spares.push(refused);
        }
    });
}

/// Parks `conn`'s empty output buffer among the thread's spares, if there is room.
pub(crate) fn keep_from(conn: &mut Connection) {
    if !conn.holds_output_buffer() {
        return;
    }
    SPARE.with_borrow_mut(|spares| {
        if spares.len() < SPARES
            && let Some(buffer) = conn.take_output_buffer()
        {
            spares.push(buffer);
        }
    });
}
