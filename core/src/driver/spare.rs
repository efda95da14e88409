//! One spare output buffer per thread, passed between connections.
//!
//! An idle connection holds no output buffer: it gives its buffer up whenever it waits for
//! input. Freeing it then and allocating a new one for the next reply costs a malloc/free
//! pair per message in a request/response exchange; parking it here instead lets the next
//! connection on this thread (often the same one) encode into it. At most one buffer per
//! thread, no larger than the core lets an idle connection keep.

use std::cell::Cell;

use crate::connection::Connection;
use bytes::BytesMut;

thread_local! {
    static SPARE: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// Lends the thread's spare buffer to `conn` if it has none of its own.
pub(crate) fn lend_to(conn: &mut Connection) {
    SPARE.with(|spare| {
        if let Some(buffer) = spare.take() {
            spare.set(conn.lend_output_buffer(buffer));
        }
    });
}

/// Parks `conn`'s empty output buffer as the thread's spare, if the slot is free.
pub(crate) fn keep_from(conn: &mut Connection) {
    SPARE.with(|spare| {
        let held = spare.take();
        spare.set(held.or_else(|| conn.take_output_buffer()));
    });
}
