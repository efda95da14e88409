//! The policy of a split connection: one task drives the connection for a read half and any
//! number of write halves, moving items through two channels. What that task does with the
//! channels is decided here, once, sans-IO; the task (ropeway-async's `SplitTask`) only polls
//! the channels and the connection and reports what it saw.
//!
//! The decisions:
//! * the read half's channel has no room → the driver stops reading from the peer (the
//!   application is behind), but keeps writing, answering and running its timers;
//! * the read half asks for pieces or messages → the mode switches between messages only;
//! * an error or the end → senders are refused *before* the read half can see it, so once
//!   either half reports the end, every send does;
//! * the read half and every write half dropped → the connection is closed normally (1000),
//!   not left to the peer's timeouts;
//! * a half that is gone stops being served (its items are dropped).

use super::Driver;
use super::next::Goal;

/// What the driving task does with an item the connection produced for the read half.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// Hand it to the read half.
    ToReader,
    /// Close the write halves' channel (nothing more can be sent), then hand it to the
    /// read half: it is the error that ended the connection.
    CloseSendersThenToReader,
    /// Drop it: the read half is gone.
    Drop,
    /// Drop it, and close the write halves' channel: an error nobody will read.
    CloseSenders,
}

/// A split connection's policy: what the task that drives it does with the read half's
/// channel and the write halves' channel. The read half's channel without room stops the
/// driver reading from the peer; the read half asking for pieces or messages switches the
/// mode between messages only; an error or the end refuses senders before the read half
/// can see it; both halves dropped close the connection normally (1000), once.
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitPolicy {
    reader_gone: bool,
    writers_gone: bool,
    abandoned: bool,
    /// Handing out pieces rather than messages (switched between messages only).
    piece_mode: bool,
    /// In piece mode: the last piece did not end its message.
    piece_mid: bool,
}

impl SplitPolicy {
    /// A connection whose halves are both in use.
    pub fn new() -> SplitPolicy {
        SplitPolicy::default()
    }

    /// Input: the read half was dropped. With every write half gone too, the connection is
    /// closed normally.
    pub fn handle_reader_gone(&mut self, driver: &mut Driver) {
        self.reader_gone = true;
        self.abandon_if_unused(driver);
    }

    /// Input: every write half was dropped (the channel ended).
    pub fn handle_writers_gone(&mut self, driver: &mut Driver) {
        self.writers_gone = true;
        self.abandon_if_unused(driver);
    }

    /// Nobody can use the connection any more: it is closed normally, once.
    fn abandon_if_unused(&mut self, driver: &mut Driver) {
        if self.reader_gone && self.writers_gone && !self.abandoned {
            self.abandoned = true;
            driver.handle_abandoned();
        }
    }

    /// Whether the read half is still there (its channel is polled for room).
    pub fn serves_reader(&self) -> bool {
        !self.reader_gone
    }

    /// Whether the write halves' channel is still taken from.
    pub fn takes_from_writers(&self) -> bool {
        !self.writers_gone
    }

    /// Input: whether the read half's channel has room for one more item. While it has
    /// none the driver reads nothing from the peer, so TCP slows the peer down.
    pub fn handle_reader_room(&mut self, driver: &mut Driver, room: bool) {
        driver.handle_app_behind(!room);
    }

    /// The goal for the next item for the read half: [`Goal::Piece`] while it asks for
    /// pieces, [`Goal::Message`] otherwise, switching only between messages.
    pub fn reader_goal(&mut self, driver: &Driver, pieces_wanted: bool) -> Goal {
        let mid_message = if self.piece_mode {
            self.piece_mid
        } else {
            driver.is_mid_message()
        };
        if !mid_message {
            self.piece_mode = pieces_wanted;
        }
        if self.piece_mode {
            Goal::Piece
        } else {
            Goal::Message
        }
    }

    /// Input: a piece was handed out; `message_end` says whether it ended its message.
    pub fn handle_piece(&mut self, message_end: bool) {
        self.piece_mid = !message_end;
    }

    /// What to do with an item for the read half; `is_error` for the error that ended the
    /// connection.
    pub fn forward(&self, is_error: bool) -> Forward {
        match (is_error, self.reader_gone) {
            (false, false) => Forward::ToReader,
            (false, true) => Forward::Drop,
            (true, false) => Forward::CloseSendersThenToReader,
            (true, true) => Forward::CloseSenders,
        }
    }
}
