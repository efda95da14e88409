//! The invariants every connection target checks besides "never panics". A failed check
//! panics, which the fuzzer reports as a crash.

use ropeway_core::{Config, ConnectionError, Data, Event, MessageKind};

/// The most a frame header can add to a payload: 2 bytes, an 8-byte length, a 4-byte key.
pub const FRAME_OVERHEAD: usize = 14;

/// A control frame at its largest: a 125-byte payload with a masked header (2 + 4).
pub const MAX_CONTROL_FRAME: usize = 131;

/// Follows what one connection reports and checks that it makes sense.
#[derive(Debug)]
pub struct Checker {
    max_message: usize,
    max_queued: usize,
    /// The message being received: its kind, its bytes so far.
    message: Option<(MessageKind, Vec<u8>)>,
    /// The peer's close frame arrived: no frame may be decoded after it.
    close_seen: bool,
    /// The first error `recv` returned: every later call must return it again.
    error: Option<ConnectionError>,
    /// Output the core may queue whatever the output limit (pongs, pings, close frames),
    /// counted since the queue was last empty.
    unlimited_since_empty: usize,
    /// The largest message the application queued (encoded, with its header): the output
    /// limit lets one message start while the queue is just under it.
    largest_send: usize,
}

impl Checker {
    /// A checker for a connection with `config`.
    pub fn new(config: &Config) -> Checker {
        Checker {
            max_message: config.limits.max_message_size,
            max_queued: config.limits.max_queued_output,
            message: None,
            close_seen: false,
            error: None,
            unlimited_since_empty: 0,
            largest_send: 0,
        }
    }

    /// The error the connection failed with, once `recv` reported one.
    pub fn error(&self) -> Option<&ConnectionError> {
        self.error.as_ref()
    }

    /// Checks one result of `recv` / `recv_partial`. `stored` is what the connection says it
    /// ended with (`Connection::error`) just before the call.
    pub fn on_recv(
        &mut self,
        result: &Result<Option<Event>, ConnectionError>,
        stored: Option<&ConnectionError>,
    ) {
        if let Some(first) = &self.error {
            assert_eq!(
                result.as_ref().err(),
                Some(first),
                "an error is sticky: every recv after it returns it again"
            );
            return;
        }
        if let Some(stored) = stored {
            assert_eq!(
                result.as_ref().err(),
                Some(stored),
                "recv reports the error the connection ended with"
            );
        }
        match result {
            Err(error) => {
                // A failure queues a close frame (once) with the error's code.
                self.unlimited_since_empty += MAX_CONTROL_FRAME;
                self.error = Some(error.clone());
            }
            Ok(None) => {}
            Ok(Some(event)) => {
                assert!(
                    !self.close_seen,
                    "an event after the peer's close: {event:?}"
                );
                self.on_event(event);
            }
        }
    }

    fn on_event(&mut self, event: &Event) {
        match event {
            Event::Data(data) => self.on_data(data),
            Event::Ping(payload) => {
                assert!(payload.len() <= 125, "control payload over 125 bytes");
                // The core queues (or replaces) the pong for it.
                self.unlimited_since_empty += 6 + payload.len();
            }
            Event::Pong(payload) => assert!(payload.len() <= 125, "control payload over 125"),
            Event::Close(frame) => {
                if let Some(frame) = frame {
                    assert!(frame.code.is_valid_on_wire(), "close code {}", frame.code);
                    assert!(frame.reason.len() <= 123, "close reason over 123 bytes");
                }
                self.close_seen = true;
                // The reply, and an owed pong flushed ahead of it.
                self.unlimited_since_empty += 2 * MAX_CONTROL_FRAME;
            }
        }
    }

    fn on_data(&mut self, data: &Data) {
        assert_eq!(
            data.message_start,
            self.message.is_none(),
            "message_start says whether a message was in progress"
        );
        assert!(
            !data.message_end || data.frame_end,
            "a message ends with its frame"
        );
        let (kind, bytes) = self.message.get_or_insert_with(|| (data.kind, Vec::new()));
        assert_eq!(*kind, data.kind, "a message keeps its kind");
        bytes.extend_from_slice(&data.payload);
        assert!(
            bytes.len() <= self.max_message,
            "a message of {} bytes got past the limit of {}",
            bytes.len(),
            self.max_message
        );
        if data.message_end {
            if *kind == MessageKind::Text {
                assert!(
                    std::str::from_utf8(bytes).is_ok(),
                    "a text message that is not UTF-8 was handed out"
                );
            }
            self.message = None;
        }
    }

    /// The application queued a message, or a fragment of one: `bytes` of payload in
    /// `frames` frames so far. A compressor may hold back what earlier fragments carried and
    /// put it all in the last one's frame, so a fragmented message counts whole.
    pub fn on_send(&mut self, bytes: usize, frames: usize) {
        // Compression may grow incompressible data a little (stored blocks).
        let encoded = bytes + bytes / 256 + 64 + frames * FRAME_OVERHEAD;
        self.largest_send = self.largest_send.max(encoded);
    }

    /// The application queued a control frame (which the output limit does not hold back).
    pub fn on_control_sent(&mut self, payload: usize) {
        self.unlimited_since_empty += 6 + payload;
    }

    /// Timers fired: a keep-alive ping may have been queued.
    pub fn on_timeout(&mut self) {
        self.unlimited_since_empty += 2 * 6;
    }

    /// Checks the queued output against its bound: the limit, plus one message that started
    /// just under it, plus what the core queues regardless of the limit since the queue was
    /// last empty (each of those is caused by something read, a timer or the application).
    pub fn on_queued(&mut self, queued: usize) {
        if queued == 0 {
            self.unlimited_since_empty = 0;
            return;
        }
        let bound = self.max_queued + self.largest_send + self.unlimited_since_empty;
        assert!(
            queued <= bound,
            "{queued} bytes queued, over the bound of {bound} (limit {}, largest send {}, \
             queued regardless of the limit {})",
            self.max_queued,
            self.largest_send,
            self.unlimited_since_empty
        );
    }
}
