//! Input: decoding frames from the read buffer into events, one event per call.

use bytes::{Buf, Bytes, BytesMut};

use super::{Connection, freeze, take_front};
use crate::close::{ClosePayloadError, parse_close_payload};
use crate::error::{ConnectionError, ProtocolError};
use crate::event::{Data, Event, MessageKind};
use crate::frame::{FrameHeader, OpCode};
use crate::mask::{apply_mask, rotate_key};
use crate::role::Role;
use crate::state::State;
use crate::timer::Timer;
use crate::utf8::Utf8Validator;

/// Decoding state that lives across `recv` calls.
pub(super) struct Decoder {
    /// The data frame whose payload is being read.
    frame: Option<DataFrame>,
    /// The message being received, from its first frame to its last.
    message: Option<Message>,
    utf8: Utf8Validator,
}

struct DataFrame {
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes not yet handed out.
    remaining: u64,
    /// Payload bytes handed out so far (the mask key rotates with it).
    offset: u64,
    /// Bytes at the front of the read buffer already unmasked and validated.
    checked: usize,
}

struct Message {
    kind: MessageKind,
    /// The payload goes through the extension's decoder.
    transformed: bool,
    /// Bytes of the message handed out so far (after the extension).
    size: usize,
    /// Some piece of it was handed out already.
    started: bool,
}

impl Decoder {
    pub(super) fn new() -> Self {
        Decoder {
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
        }
    }

    /// Hands out the next piece of the message in progress: checks that text does not end
    /// inside a code point, and moves the frame and message state on.
    fn hand_out(&mut self, payload: Bytes, frame_end: bool) -> Result<Step, ProtocolError> {
        let fin = self.frame.as_ref().is_some_and(|frame| frame.fin);
        let Some(message) = self.message.as_mut() else {
            return Ok(Step::Continue);
        };
        let message_end = frame_end && fin;
        if message_end && message.kind == MessageKind::Text {
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        message.size += payload.len();
        let data = Data {
            kind: message.kind,
            payload,
            message_start: !message.started,
            frame_end,
            message_end,
        };
        message.started = true;
        if frame_end {
            self.frame = None;
        }
        if message_end {
            self.message = None;
        }
        Ok(Step::Event(Event::Data(data)))
    }

    pub(super) fn bytes_needed(&self, buffered: usize) -> usize {
        match &self.frame {
            Some(frame) => usize::try_from(frame.remaining)
                .unwrap_or(usize::MAX)
                .saturating_sub(buffered),
            None => 0,
        }
    }
}

impl Connection {
    /// Input: decodes the next event from `input`, the bytes read from the transport. A data
    /// frame is handed out once it is complete (its payload a slice of `input`, unmasked in
    /// place); text is still validated as it arrives, so invalid UTF-8 fails at once.
    ///
    /// Returns `Ok(None)` when `input` holds no complete event: read more and call again.
    /// Consumed bytes are split off `input`; the rest stays for the next call. After the
    /// close handshake it returns `Ok(None)` and discards input. A failure is returned once
    /// the events before it are out, and again on every later call.
    pub fn recv(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ConnectionError> {
        self.recv_inner(input, false)
    }

    /// Like [`Connection::recv`], but hands out the available part of a data frame at once,
    /// so a large message streams through a small buffer. Each [`Data`] piece says whether it
    /// ends its frame and its message.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ropeway_core::{BytesMut, Config, Connection, Event};
    ///
    /// let mut conn = Connection::server(Config::default(), Instant::now());
    /// // The first 3 of 5 payload bytes of a masked binary frame (mask key 0).
    /// let mut input = BytesMut::from(&[0x82, 0x85, 0, 0, 0, 0, 1, 2, 3][..]);
    /// let Some(Event::Data(piece)) = conn.recv_partial(&mut input).unwrap() else { panic!() };
    /// assert_eq!((&piece.payload[..], piece.message_end), (&[1, 2, 3][..], false));
    /// input.extend_from_slice(&[4, 5]);
    /// let Some(Event::Data(piece)) = conn.recv_partial(&mut input).unwrap() else { panic!() };
    /// assert_eq!((&piece.payload[..], piece.message_end), (&[4, 5][..], true));
    /// ```
    pub fn recv_partial(&mut self, input: &mut BytesMut) -> Result<Option<Event>, ConnectionError> {
        self.recv_inner(input, true)
    }

    fn recv_inner(
        &mut self,
        input: &mut BytesMut,
        partial: bool,
    ) -> Result<Option<Event>, ConnectionError> {
        if let Some(error) = &self.error {
            input.clear();
            return Err((**error).clone());
        }
        if !self.state.can_receive() {
            // The peer's close frame was the last frame it may send.
            input.clear();
            return Ok(None);
        }
        loop {
            let step = if self.decoder.frame.is_some() {
                self.read_data(input, partial)
            } else {
                self.read_frame_start(input)
            };
            match step {
                Ok(Step::Event(event)) => return Ok(Some(event)),
                Ok(Step::Continue) => continue,
                Ok(Step::NeedInput) => return self.need_input(),
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// Nothing more can be decoded from what was read: fine unless the stream has ended.
    fn need_input(&mut self) -> Result<Option<Event>, ConnectionError> {
        if self.eof && self.state.can_receive() {
            self.end_with(ConnectionError::Abnormal);
            return Err(ConnectionError::Abnormal);
        }
        Ok(None)
    }

    /// Decodes a frame header; hands out a control frame whole, or starts a data frame.
    fn read_frame_start(&mut self, input: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some((header, header_len)) = FrameHeader::decode(input)? else {
            return Ok(Step::NeedInput);
        };
        self.check_mask(&header)?;
        if header.opcode.is_control() {
            if header.rsv != 0 {
                let claimed = self
                    .extension
                    .as_ref()
                    .map_or(0, |n| n.extension.reserved_bits());
                return Err(if header.rsv & !claimed == 0 {
                    ProtocolError::ControlFrameReservedBits(header.rsv)
                } else {
                    ProtocolError::ReservedBits(header.rsv)
                });
            }
            // At most 125 bytes: wait for all of it, then decode the header again.
            let payload_len = header.payload_len as usize;
            if input.len() < header_len + payload_len {
                return Ok(Step::NeedInput);
            }
            self.heard_from_peer = true;
            input.advance(header_len);
            let mut payload = input.split_to(payload_len);
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key);
            }
            return self.on_control(header.opcode, payload);
        }
        self.heard_from_peer = true;
        if let Some(step) = self.read_whole_frame(&header, header_len, input)? {
            return Ok(step);
        }
        self.start_data_frame(&header)?;
        input.advance(header_len);
        Ok(Step::Continue)
    }

    /// The hot path: a complete single-frame message with no extension bits, already in the
    /// buffer, is handed out at once without going through the frame and message state.
    #[inline]
    fn read_whole_frame(
        &mut self,
        header: &FrameHeader,
        header_len: usize,
        input: &mut BytesMut,
    ) -> Result<Option<Step>, ProtocolError> {
        let whole = header.fin
            && header.rsv == 0
            && header.opcode != OpCode::Continuation
            && self.decoder.message.is_none()
            && (input.len() - header_len) as u64 >= header.payload_len;
        if !whole {
            return Ok(None);
        }
        let len = header.payload_len as usize;
        let limits = &self.config.limits;
        if len > limits.max_frame_size || len > limits.max_message_size {
            // The general path reports which limit.
            return Ok(None);
        }
        // Header and payload leave the buffer together and the header is cut off the frozen
        // `Bytes`, which only moves a pointer (cutting it off a `BytesMut` costs more).
        let mut frame = take_front(input, header_len + len);
        let payload = &mut frame[header_len..];
        if let Some(key) = header.mask {
            apply_mask(payload, key);
        }
        let kind = if header.opcode == OpCode::Text {
            simdutf8::basic::from_utf8(payload).map_err(|_| ProtocolError::InvalidUtf8)?;
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        let mut payload = frame.freeze();
        payload.advance(header_len);
        Ok(Some(Step::Event(Event::Data(Data {
            kind,
            payload,
            message_start: true,
            frame_end: true,
            message_end: true,
        }))))
    }

    fn check_mask(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => Err(ProtocolError::MaskedFrame),
            _ => Ok(()),
        }
    }

    /// Checks a data frame's header against the message in progress and the limits.
    fn start_data_frame(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let limits = &self.config.limits;
        let claimed = self
            .extension
            .as_ref()
            .map_or(0, |n| n.extension.reserved_bits());
        let unclaimed = header.rsv & !claimed;
        if unclaimed != 0 {
            return Err(ProtocolError::ReservedBits(unclaimed));
        }
        if header.payload_len > limits.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                len: header.payload_len,
                max: limits.max_frame_size,
            });
        }
        let message = match (header.opcode, self.decoder.message.as_mut()) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(message)) => {
                // Extension bits belong on the first frame of a message only (RFC 7692 §6.1).
                // Unclaimed bits were refused above, so these are claimed ones, misplaced.
                if header.rsv != 0 {
                    return Err(ProtocolError::ContinuationReservedBits(header.rsv));
                }
                message
            }
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => {
                let kind = if opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                let transformed = match self.extension.as_mut() {
                    Some(n) if header.rsv != 0 => n.extension.decode_start(header.rsv),
                    _ => false,
                };
                self.decoder.message.insert(Message {
                    kind,
                    transformed,
                    size: 0,
                    started: false,
                })
            }
        };
        // A transformed message is checked after the transform, where its real size is known.
        if !message.transformed
            && message.size as u64 + header.payload_len > limits.max_message_size as u64
        {
            return Err(ProtocolError::MessageTooLarge {
                max: limits.max_message_size,
            });
        }
        self.decoder.frame = Some(DataFrame {
            fin: header.fin,
            mask: header.mask,
            remaining: header.payload_len,
            offset: 0,
            checked: 0,
        });
        Ok(())
    }

    /// Reads the payload of the data frame in progress.
    fn read_data(&mut self, input: &mut BytesMut, partial: bool) -> Result<Step, ProtocolError> {
        let decoder = &mut self.decoder;
        let (Some(frame), Some(message)) = (decoder.frame.as_mut(), decoder.message.as_mut())
        else {
            return Ok(Step::Continue);
        };
        let available = input
            .len()
            .min(usize::try_from(frame.remaining).unwrap_or(usize::MAX));
        if available > frame.checked {
            let fresh = &mut input[frame.checked..available];
            if let Some(key) = frame.mask {
                apply_mask(
                    fresh,
                    rotate_key(key, (frame.offset as usize) + frame.checked),
                );
            }
            if message.kind == MessageKind::Text && !message.transformed {
                decoder
                    .utf8
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            frame.checked = available;
        }
        let frame_end = available as u64 == frame.remaining;
        if message.transformed {
            return self.read_transformed(input, available, frame_end);
        }
        let deliver_now = frame_end || (partial && available > 0);
        if !deliver_now {
            return Ok(Step::NeedInput);
        }
        let payload = freeze(input, available);
        frame.offset += available as u64;
        frame.remaining -= available as u64;
        frame.checked = 0;
        decoder.hand_out(payload, frame_end)
    }

    /// Feeds what arrived of a transformed (e.g. compressed) frame to the extension and hands
    /// out what it produced. Input is consumed as it arrives, at most [`TRANSFORMED_STEP`]
    /// bytes per call to the extension; output waits for the frame's end unless it grows
    /// past [`TRANSFORMED_PIECE`], so whole-frame callers see few, large pieces. A piece is
    /// handed out as soon as it is that large, with the rest of the input left for the next
    /// call: one call inflates at most one step's worth of input past a piece (bounded by the
    /// extension's own limits, such as permessage-deflate's inflate ratio), so a caller that
    /// takes pieces or events gets control back between them.
    fn read_transformed(
        &mut self,
        input: &mut BytesMut,
        available: usize,
        frame_end: bool,
    ) -> Result<Step, ProtocolError> {
        let max_message = self.config.limits.max_message_size;
        let decoder = &mut self.decoder;
        let (Some(frame), Some(message), Some(negotiated)) = (
            decoder.frame.as_mut(),
            decoder.message.as_mut(),
            self.extension.as_mut(),
        ) else {
            return Ok(Step::Continue);
        };
        let decoded = &mut negotiated.decoded;
        let mut fed = 0;
        loop {
            let step = (available - fed).min(TRANSFORMED_STEP);
            let last = fed + step == available;
            let message_end = frame_end && last && frame.fin;
            if step > 0 || message_end {
                let budget = max_message - message.size - decoded.len();
                let before = decoded.len();
                negotiated
                    .extension
                    .decode(&input[fed..fed + step], message_end, decoded, budget)
                    .map_err(|e| match e {
                        // The extension only knows what was left of the budget.
                        ProtocolError::MessageTooLarge { .. } => {
                            ProtocolError::MessageTooLarge { max: max_message }
                        }
                        other => other,
                    })?;
                if message.kind == MessageKind::Text {
                    decoder
                        .utf8
                        .feed(&decoded[before..])
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                fed += step;
            }
            if last || decoded.len() >= TRANSFORMED_PIECE {
                break;
            }
        }
        input.advance(fed);
        frame.offset += fed as u64;
        frame.remaining -= fed as u64;
        // The bytes left in `input` were unmasked already.
        frame.checked = available - fed;
        let frame_end = frame_end && fed == available;
        if !frame_end && decoded.len() < TRANSFORMED_PIECE {
            return Ok(Step::NeedInput);
        }
        let payload = decoded.split().freeze();
        if frame_end && frame.fin {
            // Hold no inflate buffer between messages.
            *decoded = BytesMut::new();
        }
        decoder.hand_out(payload, frame_end)
    }

    fn on_control(&mut self, opcode: OpCode, payload: BytesMut) -> Result<Step, ProtocolError> {
        let payload = payload.freeze();
        match opcode {
            OpCode::Ping => {
                if self.state == State::Open {
                    self.encoder.set_pong(payload.clone());
                }
                Ok(Step::Event(Event::Ping(payload)))
            }
            OpCode::Pong => Ok(Step::Event(Event::Pong(payload))),
            _ => {
                let frame = parse_close_payload(&payload).map_err(|e| match e {
                    ClosePayloadError::Truncated => ProtocolError::TruncatedClosePayload,
                    ClosePayloadError::InvalidCode(code) => ProtocolError::InvalidCloseCode(code),
                    ClosePayloadError::InvalidReason => ProtocolError::InvalidCloseReason,
                })?;
                if self.state == State::Open {
                    self.encoder.queue_close(frame.as_ref());
                }
                self.state = self.state.on_close_received();
                self.timers.stop(Timer::KeepAlive);
                self.timers.stop(Timer::KeepAliveTimeout);
                self.after_close_queued();
                Ok(Step::Event(Event::Close(frame)))
            }
        }
    }
}

/// How much transformed output is handed out before the frame ends.
const TRANSFORMED_PIECE: usize = 64 << 10;

/// Input fed to the extension at once: small enough that one step's output (at most the
/// extension's ratio times this) stays near a piece, large enough that the calls cost
/// nothing next to the work.
const TRANSFORMED_STEP: usize = 16 << 10;

/// The outcome of one decoding step.
enum Step {
    Event(Event),
    Continue,
    NeedInput,
}
