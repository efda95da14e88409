//! The load generator's side of permessage-deflate (RFC 7692): the offer and
//! the check of the server's answer, pre-compressing the client's messages
//! once, and inflating the server's compressed echoes without allocating per
//! message.
//!
//! The load generator offers `client_no_context_takeover`: each of its
//! messages is then compressed on its own (a fresh compressor), so one
//! compressed body is valid every time it is sent and sending costs nothing.
//! The server compresses its echoes as it negotiated (with context takeover
//! unless it answered `server_no_context_takeover`), so the load generator
//! keeps one inflater per connection across messages.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension offer, the value of `Sec-WebSocket-Extensions` in the upgrade request.
pub const OFFER: &str = "permessage-deflate; client_no_context_takeover";

/// What a sync flush ends with: stripped from every compressed message before
/// it is sent, appended again before inflating (RFC 7692 §7.2.1, §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The LZ77 window, in bits, of both directions: the protocol's default and
/// maximum, since the offer asks for no smaller one.
pub const WINDOW_BITS: u8 = 15;

/// The server's answer to [`OFFER`], as found in its 101 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The `Sec-WebSocket-Extensions` value, as sent.
    pub text: String,
    /// The server resets its compressor after every message: the inflater
    /// must be reset too.
    pub server_no_context_takeover: bool,
    /// The server acknowledged `client_no_context_takeover`. Without it the
    /// pre-compressed messages are still valid (a compressor that starts afresh
    /// never refers to earlier messages); the server merely keeps a window it
    /// does not need.
    pub client_no_context_takeover: bool,
}

/// Finds the negotiated extensions in a response head (status line and
/// headers, without the blank line). `Ok(None)` if the server answered none;
/// an error for anything but one permessage-deflate that the load generator
/// can honour.
pub fn parse_answer(head: &[u8]) -> Result<Option<Answer>, String> {
    let head = std::str::from_utf8(head).map_err(|_| "response head is not UTF-8")?;
    let values: Vec<&str> = head
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|(_, value)| value.trim())
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let text = values.join(", ");
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    let [item] = items.as_slice() else {
        return Err(format!("server answered several extensions: {text}"));
    };
    let mut params = item.split(';').map(str::trim);
    if params.next() != Some("permessage-deflate") {
        return Err(format!("server answered an extension not offered: {text}"));
    }
    let mut answer = Answer {
        text: text.clone(),
        server_no_context_takeover: false,
        client_no_context_takeover: false,
    };
    for param in params {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        match (name, value) {
            ("server_no_context_takeover", None) => answer.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => answer.client_no_context_takeover = true,
            // A smaller server window is read by a 15-bit inflater as well.
            ("server_max_window_bits", Some(v))
                if v.parse::<u8>().is_ok_and(|b| (8..=15).contains(&b)) => {}
            // Not offered, so not allowed (RFC 7692 §7.1.2.2): the pre-compressed
            // messages use a 15-bit window.
            _ => {
                return Err(format!(
                    "unexpected permessage-deflate parameter {param:?} in {text}"
                ));
            }
        }
    }
    Ok(Some(answer))
}

/// A raw DEFLATE compressor that emits one permessage-deflate message body per
/// call: sync flush, tail stripped. Keeps its context between calls (as a
/// server with context takeover does); [`compress_message`] uses a fresh one.
pub struct Deflater {
    compress: Compress,
}

impl Deflater {
    /// A compressor at `level` (0–9) with a [`WINDOW_BITS`] window.
    pub fn new(level: u32) -> Self {
        Self {
            compress: Compress::new_with_window_bits(Compression::new(level), false, WINDOW_BITS),
        }
    }

    /// The compressed body of one message (RSV1 goes on its first frame).
    pub fn message(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + payload.len() / 64 + 64);
        let start = self.compress.total_in();
        loop {
            let done = (self.compress.total_in() - start) as usize;
            self.compress
                .compress_vec(&payload[done..], &mut out, FlushCompress::Sync)
                .expect("compressing from memory into memory cannot fail");
            // A sync flush has written everything once it leaves output room unused.
            if self.compress.total_in() - start == payload.len() as u64
                && out.len() < out.capacity()
            {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if out.is_empty() {
            // An empty message is one empty stored block, whose first byte must
            // be sent for the appended tail to complete it (RFC 7692 §7.2.3.6).
            out.push(0x00);
        }
        out
    }
}

/// One message compressed on its own, as a client with
/// `client_no_context_takeover` sends it.
pub fn compress_message(payload: &[u8], level: u32) -> Vec<u8> {
    Deflater::new(level).message(payload)
}

/// Inflates the compressed echoes of one connection, incrementally as their
/// bytes arrive, into a buffer that is reused for every message.
///
/// Usage per message: [`begin`](Self::begin), [`push`](Self::push) for each
/// piece of compressed payload, [`finish`](Self::finish) for the result.
/// After an error the inflater is unusable; the load generator drops the
/// connection anyway.
pub struct Inflater {
    decompress: Decompress,
    out: Vec<u8>,
    /// Most bytes the current message may inflate to.
    max: usize,
    /// The server ended its DEFLATE stream (a final block) in this message.
    ended: bool,
    /// The server negotiated `server_no_context_takeover`.
    reset_each_message: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("len", &self.out.len())
            .field("max", &self.max)
            .field("reset_each_message", &self.reset_each_message)
            .finish()
    }
}

impl Inflater {
    /// An inflater for messages of up to `size` bytes; it resets its window
    /// after every message if `reset_each_message` (the server said
    /// `server_no_context_takeover`), else keeps it as the server does.
    pub fn new(reset_each_message: bool, size: usize) -> Self {
        Self {
            decompress: Decompress::new_with_window_bits(false, WINDOW_BITS),
            // One spare byte: an echo that inflates past `max` is caught
            // without the buffer ever growing.
            out: Vec::with_capacity(size + 1),
            max: size,
            ended: false,
            reset_each_message,
        }
    }

    /// Starts a message that must inflate to at most `max` bytes.
    pub fn begin(&mut self, max: usize) {
        self.out.clear();
        self.max = max;
        if self.out.capacity() <= max {
            self.out.reserve(max + 1);
        }
    }

    /// Inflates the next piece of the message's compressed payload.
    pub fn push(&mut self, mut input: &[u8]) -> Result<(), String> {
        loop {
            if self.ended {
                return match input.is_empty() {
                    true => Ok(()),
                    false => Err("data after the end of the DEFLATE stream".into()),
                };
            }
            let before = self.decompress.total_in();
            let status = self
                .decompress
                .decompress_vec(input, &mut self.out, FlushDecompress::None)
                .map_err(|e| format!("inflate: {e}"))?;
            input = &input[(self.decompress.total_in() - before) as usize..];
            if self.out.len() > self.max {
                return Err(format!(
                    "echo inflates to more than the {} bytes sent",
                    self.max
                ));
            }
            match status {
                Status::StreamEnd => self.ended = true,
                // With output room left, the inflater has taken all the input it can.
                _ if input.is_empty() => return Ok(()),
                _ if self.out.len() < self.out.capacity() => {
                    return Err("inflate stalled with input left".into());
                }
                // Cannot happen (room for max + 1 bytes), but never loop forever.
                _ => return Err("inflate output buffer full".into()),
            }
        }
    }

    /// Ends the message: appends the stripped tail, resets the window if the
    /// server does so, and returns the inflated payload.
    pub fn finish(&mut self) -> Result<&[u8], String> {
        if !self.ended {
            self.push(&TAIL)?;
        }
        if self.reset_each_message || self.ended {
            // After a final block the server's next message starts a new stream.
            self.decompress.reset(false);
            self.ended = false;
        }
        Ok(&self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(inf: &mut Inflater, body: &[u8], max: usize) -> Result<Vec<u8>, String> {
        inf.begin(max);
        inf.push(body)?;
        inf.finish().map(<[u8]>::to_vec)
    }

    fn text(n: usize, seed: usize) -> Vec<u8> {
        crate::wire::records(seed, n)
    }

    #[test]
    fn messages_round_trip_and_compress() {
        let mut inf = Inflater::new(false, 1 << 16);
        for n in [0, 1, 20, 512, 16 << 10, 60_000] {
            let p = text(n, n);
            let body = compress_message(&p, 6);
            assert!(!body.ends_with(&TAIL), "n={n}");
            assert_eq!(inflate(&mut inf, &body, n).as_deref(), Ok(&p[..]), "n={n}");
            if n >= 512 {
                assert!(body.len() * 2 < n, "n={n}: {} bytes compressed", body.len());
            }
        }
    }

    #[test]
    fn context_is_kept_unless_the_server_resets() {
        let p = text(4000, 0);
        // A server with context takeover: the second message refers to the first.
        let mut server = Deflater::new(6);
        let (a, b) = (server.message(&p), server.message(&p));
        assert!(b.len() < a.len() / 4);
        let mut keep = Inflater::new(false, p.len());
        assert_eq!(inflate(&mut keep, &a, p.len()).as_deref(), Ok(&p[..]));
        assert_eq!(inflate(&mut keep, &b, p.len()).as_deref(), Ok(&p[..]));
        // An inflater that resets cannot resolve those references.
        let mut reset = Inflater::new(true, p.len());
        assert_eq!(inflate(&mut reset, &a, p.len()).as_deref(), Ok(&p[..]));
        assert!(inflate(&mut reset, &b, p.len()).is_err());
        // After an error the connection is dropped, and so is its inflater.
        let mut reset = Inflater::new(true, p.len());
        // A server without context takeover is read by both.
        let c = compress_message(&p, 6);
        for inf in [&mut keep, &mut reset] {
            for _ in 0..3 {
                assert_eq!(inflate(inf, &c, p.len()).as_deref(), Ok(&p[..]));
            }
        }
    }

    #[test]
    fn bad_data_is_an_error() {
        let p = text(2000, 1);
        let body = compress_message(&p, 6);
        let mut inf = Inflater::new(false, p.len());
        // Invalid block type.
        assert!(inflate(&mut inf, &[0xff; 16], p.len()).is_err());
        // More than was sent.
        let mut inf = Inflater::new(false, p.len());
        assert!(inflate(&mut inf, &body, p.len() - 1).is_err());
        // Every single corrupted byte: an error or other content, never a panic.
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] ^= 0x55;
            let mut inf = Inflater::new(false, p.len());
            assert_ne!(
                inflate(&mut inf, &bad, p.len()).as_deref(),
                Ok(&p[..]),
                "i={i}"
            );
        }
    }

    #[test]
    fn a_final_block_ends_the_stream_and_resets() {
        let p = text(300, 2);
        let mut c = Compress::new_with_window_bits(Compression::new(6), false, WINDOW_BITS);
        let mut body = Vec::with_capacity(1024);
        c.compress_vec(&p, &mut body, FlushCompress::Finish)
            .unwrap();
        let mut inf = Inflater::new(false, p.len());
        assert_eq!(inflate(&mut inf, &body, p.len()).as_deref(), Ok(&p[..]));
        let next = compress_message(&p, 6);
        assert_eq!(inflate(&mut inf, &next, p.len()).as_deref(), Ok(&p[..]));
        body.push(0);
        assert!(inflate(&mut inf, &body, p.len()).is_err());
    }

    fn head(ext: &str) -> Vec<u8> {
        format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n{ext}").into_bytes()
    }

    #[test]
    fn answers_are_checked() {
        assert_eq!(parse_answer(&head("")), Ok(None));
        let a = parse_answer(&head(
            "sec-websocket-extensions: permessage-deflate; client_no_context_takeover",
        ))
        .unwrap()
        .unwrap();
        assert!(a.client_no_context_takeover && !a.server_no_context_takeover);
        let a = parse_answer(&head(
            "Sec-WebSocket-Extensions: permessage-deflate;server_no_context_takeover; server_max_window_bits=\"12\"",
        ))
        .unwrap()
        .unwrap();
        assert!(a.server_no_context_takeover && !a.client_no_context_takeover);
        for bad in [
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10",
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16",
            "Sec-WebSocket-Extensions: permessage-deflate; x=1",
            "Sec-WebSocket-Extensions: x-webkit-deflate-frame",
            "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate",
        ] {
            assert!(parse_answer(&head(bad)).is_err(), "{bad}");
        }
    }
}
