//! The driver's yes/no state in one byte: every connection carries it for its whole life.

macro_rules! flags {
    ($($(#[$doc:meta])* $get:ident / $set:ident = $bit:expr;)*) => {
        /// The driver's flags, one bit each.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub(super) struct Flags(u16);

        impl Flags {
            $(
                $(#[$doc])*
                #[inline]
                pub(super) fn $get(self) -> bool {
                    self.0 & (1 << $bit) != 0
                }

                #[inline]
                pub(super) fn $set(&mut self, on: bool) {
                    if on {
                        self.0 |= 1 << $bit;
                    } else {
                        self.0 &= !(1 << $bit);
                    }
                }
            )*
        }
    };
}

flags! {
    /// The last read found nothing; no read until readiness is reported.
    read_blocked / set_read_blocked = 0;
    /// The last write (or flush, or shutdown) could not proceed.
    write_blocked / set_write_blocked = 1;
    /// Bytes were written since the last flush.
    flush_needed / set_flush_needed = 2;
    /// The transport reported end of stream.
    eof / set_eof = 3;
    /// The application is not taking messages (a split read half that is behind): stop
    /// reading so TCP slows the peer down.
    app_behind / set_app_behind = 4;
    /// The peer stopped reading or vanished: nothing more is written or waited for.
    peer_gone / set_peer_gone = 5;
    /// The last step asked for was a write or flush (so an I/O error is a write error).
    writing / set_writing = 6;
    /// The current goal takes pieces as they come, so reads need be no larger than a read's
    /// worth.
    partial / set_partial = 7;
    /// The caller has armed a wake-up for the current deadline.
    timer_announced / set_timer_announced = 8;
    /// No deadline was armed when the timers were last looked at.
    no_deadline / set_no_deadline = 9;
    /// The caller writes later (an event loop, at the end of its turn): until it says it
    /// writes now, the running connection reads and decodes instead of asking to write.
    write_later / set_write_later = 10;
}
