//! The load generator's side of the WebSocket wire format: pre-built masked
//! client frames, and an incremental reader that checks echoed server frames
//! in place, without copying or allocating. Compressed echoes
//! (permessage-deflate) are inflated as they stream through, by
//! [`crate::deflate::Inflater`].

use std::fmt::Write;

use crate::deflate::Inflater;

/// The mask key of every pre-built frame. Any key costs the server the same.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Opcode of a text frame.
pub const TEXT: u8 = 1;
/// Opcode of a binary frame.
pub const BINARY: u8 = 2;

/// First header byte: the frame ends its message.
pub const FIN: u8 = 0x80;
/// First header byte: the message is compressed (permessage-deflate, first frame only).
pub const RSV1: u8 = 0x40;

/// Payload byte `i` of pattern `k` (text: ASCII letters, binary: all values).
///
/// Two patterns whose first and last bytes differ let the cheap check catch
/// an echo of the previous message.
pub fn pattern(k: usize, i: usize, text: bool) -> u8 {
    if text {
        b'a' + ((i + k * 7) % 26) as u8
    } else {
        (i.wrapping_mul(7).wrapping_add(k * 101) & 0xff) as u8
    }
}

/// Payload `k` of the compression cases: `len` bytes of JSON-like chat and
/// event records, one per line, as a chat or notification service would send
/// them. Deterministic and compressible like real traffic: the keys, user
/// names, rooms and phrases repeat, the sequence numbers and timestamps do not.
/// Different `k` hold different records.
///
/// ASCII only (valid UTF-8). Consecutive `k` differ in their first byte (`{`
/// or a leading space) and their last byte (newline or space), so the cheap
/// check catches an echo of the previous message.
pub fn records(k: usize, len: usize) -> Vec<u8> {
    const USERS: [&str; 8] = [
        "alice", "bob", "carol", "dmitri", "erin", "farah", "grace", "heidi",
    ];
    const ROOMS: [&str; 5] = ["general", "random", "support", "release-2.4", "ops-alerts"];
    const KINDS: [&str; 4] = ["message", "message", "edit", "reaction"];
    const TEXTS: [&str; 10] = [
        "deploy finished, all checks green",
        "can someone review the retry patch before lunch?",
        "the staging database is back up",
        "thanks! merging now",
        "latency on the eu-west pool went up again after 14:00",
        "I will take the on-call handover today",
        "see the dashboard link in the incident channel",
        "rolling back to the previous build to be safe",
        "meeting moved to 15:30, same room",
        "ack, looking into it",
    ];
    let odd = k % 2 == 1;
    let mut s = String::with_capacity(len + 256);
    if odd {
        s.push(' ');
    }
    let mut n = k * 10_007;
    while s.len() < len {
        let _ = writeln!(
            s,
            r#"{{"seq":{n},"ts":{},"room":"{}","user":"{}","type":"{}","text":"{}","read_by":{}}}"#,
            1_760_000_000 + n * 3 + n % 7,
            ROOMS[n / 3 % ROOMS.len()],
            USERS[(n * 5 + n / 8) % USERS.len()],
            KINDS[n / 2 % KINDS.len()],
            TEXTS[(n * 7 + n / 11) % TEXTS.len()],
            n * 13 % 17,
        );
        n += 1;
    }
    let mut out = s.into_bytes();
    out.truncate(len);
    if let Some(last) = out.last_mut() {
        *last = if odd { b' ' } else { b'\n' };
    }
    if let Some(first) = out.first_mut() {
        *first = if odd { b' ' } else { b'{' };
    }
    out
}

/// Appends a frame header for `len` payload bytes; `b0` holds FIN, RSV and opcode.
fn header(out: &mut Vec<u8>, b0: u8, len: usize, masked: bool) {
    out.push(b0);
    let m = if masked { 0x80 } else { 0 };
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= 0xffff {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// A masked frame with first header byte `b0`.
fn masked_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 14);
    header(&mut f, b0, payload.len(), true);
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// A complete client frame (FIN set) masked with [`MASK`].
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    masked_frame(FIN | opcode, payload)
}

/// A complete compressed client message in one frame (FIN and RSV1 set),
/// masked with [`MASK`]; `deflated` is the compressed payload, tail stripped
/// (see [`crate::deflate::compress_message`]).
pub fn compressed_client_frame(opcode: u8, deflated: &[u8]) -> Vec<u8> {
    masked_frame(FIN | RSV1 | opcode, deflated)
}

/// An unmasked (server) frame, for tests and tools.
pub fn server_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_server_frame(if fin { FIN } else { 0 } | opcode, payload)
}

/// An unmasked (server) frame with first header byte `b0` (FIN, RSV bits,
/// opcode), for tests and tools.
pub fn raw_server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 10);
    header(&mut f, b0, payload.len(), false);
    f.extend_from_slice(payload);
    f
}

/// What the echo of the message in flight must be.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// [`TEXT`] or [`BINARY`].
    pub opcode: u8,
    /// The unmasked (and uncompressed) payload that was sent.
    pub payload: &'a [u8],
    /// Compare every byte (else: length, first and last byte).
    pub verify: bool,
}

/// Reads echoed server frames incrementally: any split of the byte stream,
/// several frames per read, fragmented messages, interleaved ping/pong.
///
/// With an [`Inflater`] ([`EchoReader::with_inflater`], once permessage-deflate
/// is negotiated) a message whose first frame has RSV1 set is inflated as its
/// bytes arrive and checked once it is complete; a message without RSV1 is
/// checked as it streams through, as without the extension.
#[derive(Debug, Default)]
pub struct EchoReader {
    /// A data frame of the current message was seen.
    in_msg: bool,
    /// Payload bytes of the current message so far, as on the wire.
    msg_got: usize,
    /// Payload bytes of the current frame still to come.
    frame_left: u64,
    /// The current frame is a control frame being skipped.
    skipping: bool,
    /// The current frame ends its message.
    frame_fin: bool,
    /// The current (or last completed) message was compressed.
    compressed: bool,
    /// Present once permessage-deflate is negotiated.
    inflater: Option<Inflater>,
}

impl EchoReader {
    /// A reader for a connection with permessage-deflate negotiated.
    pub fn with_inflater(inflater: Inflater) -> Self {
        Self {
            inflater: Some(inflater),
            ..Self::default()
        }
    }

    /// The last completed message: whether it was compressed, and its payload
    /// bytes on the wire (the compressed size if it was).
    pub fn last_message(&self) -> (bool, usize) {
        (self.compressed, self.msg_got)
    }

    /// Consumes bytes from `buf` until one message completes or only a partial
    /// header is left. Returns (bytes consumed, whether a message completed);
    /// on completion the caller switches [`Expect`] before feeding the rest.
    pub fn feed(&mut self, buf: &[u8], exp: &Expect<'_>) -> Result<(usize, bool), String> {
        let mut pos = 0;
        loop {
            if self.frame_left > 0 {
                if pos == buf.len() {
                    return Ok((pos, false));
                }
                let n = self.frame_left.min((buf.len() - pos) as u64) as usize;
                if !self.skipping {
                    let got = &buf[pos..pos + n];
                    match self.inflater.as_mut().filter(|_| self.compressed) {
                        Some(inflater) => inflater.push(got)?,
                        None => self.check(got, exp)?,
                    }
                    self.msg_got += n;
                }
                self.frame_left -= n as u64;
                pos += n;
                if self.frame_left == 0 && self.end_frame(exp)? {
                    return Ok((pos, true));
                }
                continue;
            }
            // A header: 2 bytes, then 0, 2 or 8 bytes of length (servers do not mask).
            let avail = &buf[pos..];
            if avail.len() < 2 {
                return Ok((pos, false));
            }
            let (b0, b1) = (avail[0], avail[1]);
            if b0 & 0x30 != 0 {
                return Err(format!("RSV2/RSV3 set in server frame: {b0:#04x}"));
            }
            if b1 & 0x80 != 0 {
                return Err("server frame is masked".into());
            }
            let (hlen, plen) = match b1 & 0x7f {
                126 if avail.len() >= 4 => (4, u64::from(u16::from_be_bytes([avail[2], avail[3]]))),
                127 if avail.len() >= 10 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&avail[2..10]);
                    (10, u64::from_be_bytes(b))
                }
                126 | 127 => return Ok((pos, false)),
                n => (2, u64::from(n)),
            };
            let opcode = b0 & 0x0f;
            let fin = b0 & FIN != 0;
            let rsv1 = b0 & RSV1 != 0;
            // RFC 7692 §6: RSV1 marks the first frame of a compressed data message, nothing else.
            if rsv1 && !matches!(opcode, TEXT | BINARY) {
                return Err(format!("RSV1 set on a frame with opcode {opcode}"));
            }
            if rsv1 && self.inflater.is_none() {
                return Err("RSV1 set, but permessage-deflate was not negotiated".into());
            }
            match opcode {
                0 if !self.in_msg => return Err("continuation frame outside a message".into()),
                0 => self.skipping = false,
                TEXT | BINARY if self.in_msg => {
                    return Err("new message before the last one ended".into());
                }
                TEXT | BINARY if opcode != exp.opcode => {
                    return Err(format!("echo has opcode {opcode}, sent {}", exp.opcode));
                }
                TEXT | BINARY => {
                    self.in_msg = true;
                    self.msg_got = 0;
                    self.skipping = false;
                    self.compressed = rsv1;
                    if let Some(inflater) = self.inflater.as_mut().filter(|_| rsv1) {
                        inflater.begin(exp.payload.len());
                    }
                }
                8 => return Err("server sent a close frame".into()),
                9 | 10 if fin && plen <= 125 => self.skipping = true,
                _ => return Err(format!("unexpected or malformed frame, opcode {opcode}")),
            }
            // A compressed message's length is checked by the inflater instead.
            if !self.skipping
                && !self.compressed
                && self.msg_got as u64 + plen > exp.payload.len() as u64
            {
                return Err(format!(
                    "echo longer than the {} bytes sent",
                    exp.payload.len()
                ));
            }
            self.frame_fin = fin;
            self.frame_left = plen;
            pos += hlen;
            if plen == 0 && self.end_frame(exp)? {
                return Ok((pos, true));
            }
        }
    }

    /// Checks `got`, the next payload bytes of the message, against the expectation.
    fn check(&self, got: &[u8], exp: &Expect<'_>) -> Result<(), String> {
        let off = self.msg_got;
        let want = &exp.payload[off..off + got.len()];
        let ok = if exp.verify {
            got == want
        } else {
            (off != 0 || got.first() == want.first())
                && (off + got.len() != exp.payload.len() || got.last() == want.last())
        };
        if ok {
            Ok(())
        } else {
            Err(format!("echo content differs near offset {off}"))
        }
    }

    /// At the end of a frame: `Ok(true)` if it completed the message.
    fn end_frame(&mut self, exp: &Expect<'_>) -> Result<bool, String> {
        if self.skipping {
            self.skipping = false;
            return Ok(false);
        }
        if !self.frame_fin {
            return Ok(false);
        }
        match self.inflater.as_mut().filter(|_| self.compressed) {
            Some(inflater) => check_inflated(inflater.finish()?, exp)?,
            None if self.msg_got != exp.payload.len() => {
                return Err(format!(
                    "echo has {} bytes, sent {}",
                    self.msg_got,
                    exp.payload.len()
                ));
            }
            None => {}
        }
        self.in_msg = false;
        Ok(true)
    }
}

/// Checks a whole inflated echo: its length, then every byte or the first and last.
fn check_inflated(got: &[u8], exp: &Expect<'_>) -> Result<(), String> {
    let want = exp.payload;
    if got.len() != want.len() {
        return Err(format!(
            "echo inflates to {} bytes, sent {}",
            got.len(),
            want.len()
        ));
    }
    let ok = if exp.verify {
        got == want
    } else {
        got.first() == want.first() && got.last() == want.last()
    };
    if ok {
        Ok(())
    } else {
        Err("inflated echo content differs".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::{Deflater, compress_message};

    fn payload(k: usize, n: usize, text: bool) -> Vec<u8> {
        (0..n).map(|i| pattern(k, i, text)).collect()
    }

    /// Feeds `stream` in chunks of `chunk` bytes, as a socket would deliver it,
    /// carrying partial headers over; returns the number of messages completed.
    fn run(stream: &[u8], chunk: usize, exp: &Expect<'_>) -> Result<usize, String> {
        let pieces: Vec<&[u8]> = stream.chunks(chunk).collect();
        feed_pieces(&mut EchoReader::default(), &pieces, exp)
    }

    /// Feeds the pieces one after the other, carrying unconsumed bytes over;
    /// returns the number of messages completed.
    fn feed_pieces(
        r: &mut EchoReader,
        pieces: &[&[u8]],
        exp: &Expect<'_>,
    ) -> Result<usize, String> {
        let mut buf = Vec::new();
        let mut done = 0;
        for piece in pieces {
            buf.extend_from_slice(piece);
            let mut pos = 0;
            loop {
                let (n, complete) = r.feed(&buf[pos..], exp)?;
                pos += n;
                if !complete {
                    break;
                }
                done += 1;
            }
            buf.drain(..pos);
        }
        Ok(done)
    }

    #[test]
    fn client_frames_are_masked_and_unmask_to_the_payload() {
        for n in [0, 20, 125, 126, 16 << 10, 70_000] {
            let p = payload(0, n, false);
            let f = client_frame(BINARY, &p);
            assert_eq!(f[0], 0x82);
            assert_eq!(f[1] & 0x80, 0x80);
            let hlen = match n {
                0..=125 => 2,
                126..=65535 => 4,
                _ => 10,
            };
            assert_eq!(&f[hlen..hlen + 4], &MASK);
            let unmasked: Vec<u8> = f[hlen + 4..]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ MASK[i % 4])
                .collect();
            assert_eq!(unmasked, p);
        }
    }

    #[test]
    fn whole_echoes_in_any_chunking() {
        for (n, text) in [(20, false), (20, true), (300, false), (70_000, false)] {
            let p = payload(1, n, text);
            let op = if text { TEXT } else { BINARY };
            let exp = Expect {
                opcode: op,
                payload: &p,
                verify: true,
            };
            // Three echoes back to back: several frames per read.
            let stream = server_frame(true, op, &p).repeat(3);
            for chunk in [1, 2, 3, 7, 64, 1000, stream.len()] {
                assert_eq!(run(&stream, chunk, &exp), Ok(3), "n={n} chunk={chunk}");
            }
        }
    }

    #[test]
    fn fragmented_echo_with_interleaved_ping() {
        let p = payload(0, 1000, true);
        let exp = Expect {
            opcode: TEXT,
            payload: &p,
            verify: true,
        };
        let stream = [
            server_frame(false, TEXT, &p[..10]),
            server_frame(true, 9, b"ping"),
            server_frame(false, 0, &p[10..500]),
            server_frame(false, 0, &[]),
            server_frame(true, 0, &p[500..]),
        ]
        .concat();
        for chunk in [1, 5, 11, 100, stream.len()] {
            assert_eq!(run(&stream, chunk, &exp), Ok(1), "chunk={chunk}");
        }
    }

    #[test]
    fn wrong_echoes_are_errors() {
        let p = payload(0, 100, false);
        let exp = |verify| Expect {
            opcode: BINARY,
            payload: &p,
            verify,
        };
        let other = payload(1, 100, false);
        // The previous message echoed again: first byte differs, caught cheaply.
        assert!(run(&server_frame(true, BINARY, &other), 9, &exp(false)).is_err());
        // One byte changed in the middle: only --verify sees it.
        let mut mid = p.clone();
        mid[50] ^= 1;
        assert_eq!(
            run(&server_frame(true, BINARY, &mid), 9, &exp(false)),
            Ok(1)
        );
        assert!(run(&server_frame(true, BINARY, &mid), 9, &exp(true)).is_err());
        // Too short, too long, wrong opcode, masked, close, stray continuation.
        assert!(run(&server_frame(true, BINARY, &p[..99]), 9, &exp(false)).is_err());
        let longer = [p.clone(), vec![0]].concat();
        assert!(run(&server_frame(true, BINARY, &longer), 9, &exp(false)).is_err());
        assert!(run(&server_frame(true, TEXT, &p), 9, &exp(false)).is_err());
        assert!(run(&client_frame(BINARY, &p), 9, &exp(false)).is_err());
        assert!(run(&server_frame(true, 8, &[3, 232]), 9, &exp(false)).is_err());
        assert!(run(&server_frame(true, 0, &p), 9, &exp(false)).is_err());
    }

    #[test]
    fn patterns_differ_at_both_ends() {
        for text in [false, true] {
            for n in [1, 20, 16 << 10, 1 << 20] {
                let (a, b) = (payload(0, n, text), payload(1, n, text));
                assert_ne!(a[0], b[0]);
                assert_ne!(a[n - 1], b[n - 1]);
                if text {
                    assert!(std::str::from_utf8(&a).is_ok());
                }
            }
        }
    }

    fn inflating(size: usize) -> EchoReader {
        EchoReader::with_inflater(Inflater::new(false, size))
    }

    /// Three compressed echoes of `p` from a server with context takeover:
    /// the second and third refer back to the first.
    fn compressed_echoes(p: &[u8]) -> Vec<u8> {
        let mut server = Deflater::new(6);
        (0..3)
            .map(|_| raw_server_frame(FIN | RSV1 | TEXT, &server.message(p)))
            .collect::<Vec<_>>()
            .concat()
    }

    #[test]
    fn compressed_echoes_split_anywhere() {
        for n in [0, 1, 20, 512, 16 << 10, 70_000] {
            let p = records(0, n);
            let stream = compressed_echoes(&p);
            for verify in [false, true] {
                let exp = Expect {
                    opcode: TEXT,
                    payload: &p,
                    verify,
                };
                let splits: Vec<usize> = if stream.len() <= 2048 {
                    (0..=stream.len()).collect()
                } else {
                    vec![0, 1, 2, 3, 4, 5, 9, 100, stream.len() / 2, stream.len() - 1]
                };
                for at in splits {
                    let (a, b) = stream.split_at(at);
                    let mut r = inflating(n);
                    assert_eq!(feed_pieces(&mut r, &[a, b], &exp), Ok(3), "n={n} at={at}");
                    assert!(r.last_message().0);
                }
                for chunk in [1, 7, 1000] {
                    let pieces: Vec<&[u8]> = stream.chunks(chunk).collect();
                    let got = feed_pieces(&mut inflating(n), &pieces, &exp);
                    assert_eq!(got, Ok(3), "n={n} chunk={chunk}");
                }
            }
        }
    }

    #[test]
    fn compressed_client_frames_unmask_to_the_deflated_payload() {
        let p = records(1, 3000);
        let body = compress_message(&p, 6);
        let f = compressed_client_frame(TEXT, &body);
        assert_eq!(f[0], FIN | RSV1 | TEXT);
        assert_eq!(f[1], 0x80 | 126);
        let unmasked: Vec<u8> = f[8..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ MASK[i % 4])
            .collect();
        assert_eq!(unmasked, body);
        // What the server inflates is what was sent.
        let mut inf = Inflater::new(false, p.len());
        inf.begin(p.len());
        inf.push(&unmasked).unwrap();
        assert_eq!(inf.finish().unwrap(), &p[..]);
    }

    #[test]
    fn fragmented_compressed_echo_and_uncompressed_echo() {
        let p = records(0, 5000);
        let exp = Expect {
            opcode: TEXT,
            payload: &p,
            verify: true,
        };
        let body = compress_message(&p, 6);
        let third = body.len() / 3;
        // RSV1 on the first frame only, a ping in between.
        let stream = [
            raw_server_frame(RSV1 | TEXT, &body[..third]),
            server_frame(true, 9, b"ping"),
            server_frame(false, 0, &body[third..2 * third]),
            server_frame(true, 0, &body[2 * third..]),
            // Then an echo the server chose not to compress: accepted, and told apart.
            server_frame(true, TEXT, &p),
        ]
        .concat();
        let mut r = inflating(p.len());
        let first = stream.len() - server_frame(true, TEXT, &p).len();
        assert_eq!(feed_pieces(&mut r, &[&stream[..first]], &exp), Ok(1));
        assert_eq!(r.last_message(), (true, body.len()));
        assert_eq!(feed_pieces(&mut r, &[&stream[first..]], &exp), Ok(1));
        assert_eq!(r.last_message(), (false, p.len()));
    }

    #[test]
    fn rsv_bits_are_checked() {
        let p = records(0, 100);
        let exp = Expect {
            opcode: TEXT,
            payload: &p,
            verify: false,
        };
        let body = compress_message(&p, 6);
        let feed =
            |r: &mut EchoReader, frames: &[Vec<u8>]| feed_pieces(r, &[&frames.concat()], &exp);
        // Without the extension negotiated.
        let compressed = [raw_server_frame(FIN | RSV1 | TEXT, &body)];
        assert!(feed(&mut EchoReader::default(), &compressed).is_err());
        assert_eq!(feed(&mut inflating(100), &compressed), Ok(1));
        // RSV2, RSV3; RSV1 on a continuation or a control frame.
        for b0 in [FIN | 0x20 | TEXT, FIN | 0x10 | TEXT] {
            assert!(feed(&mut inflating(100), &[raw_server_frame(b0, &p)]).is_err());
        }
        let split = [
            raw_server_frame(RSV1 | TEXT, &body[..10]),
            raw_server_frame(FIN | RSV1, &body[10..]),
        ];
        assert!(feed(&mut inflating(100), &split).is_err());
        let ping = [
            raw_server_frame(FIN | RSV1 | 9, b""),
            server_frame(true, TEXT, &p),
        ];
        assert!(feed(&mut inflating(100), &ping).is_err());
    }

    #[test]
    fn wrong_compressed_echoes_are_errors_not_panics() {
        let p = records(0, 2000);
        let other = records(1, 2000);
        let exp = |verify| Expect {
            opcode: TEXT,
            payload: &p,
            verify,
        };
        let frame =
            |payload: &[u8]| raw_server_frame(FIN | RSV1 | TEXT, &compress_message(payload, 6));
        let feed = |f: &[u8], verify| feed_pieces(&mut inflating(p.len()), &[f], &exp(verify));
        assert_eq!(feed(&frame(&p), false), Ok(1));
        // The previous message, one byte changed, too short, too long.
        assert!(feed(&frame(&other), false).is_err());
        let mut mid = p.clone();
        mid[1000] ^= 1;
        assert_eq!(feed(&frame(&mid), false), Ok(1));
        assert!(feed(&frame(&mid), true).is_err());
        assert!(feed(&frame(&p[..1999]), false).is_err());
        assert!(feed(&frame(&[&p[..], b"x"].concat()), false).is_err());
        // Not DEFLATE at all; truncated DEFLATE; every byte corrupted in turn.
        assert!(feed(&raw_server_frame(FIN | RSV1 | TEXT, &[0xff; 40]), true).is_err());
        let body = compress_message(&p, 6);
        let cut = raw_server_frame(FIN | RSV1 | TEXT, &body[..body.len() / 2]);
        assert!(feed(&cut, true).is_err());
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] ^= 0xa5;
            let _ = feed(&raw_server_frame(FIN | RSV1 | TEXT, &bad), true);
        }
    }

    #[test]
    fn records_look_like_json_lines_and_compress() {
        for n in [1, 2, 20, 512, 16 << 10, 1 << 20] {
            let (a, b) = (records(0, n), records(1, n));
            assert_eq!((a.len(), b.len()), (n, n));
            assert_ne!(a[0], b[0], "n={n}");
            assert_ne!(a[n - 1], b[n - 1], "n={n}");
            assert!(a.is_ascii() && b.is_ascii());
            // Two further apart differ, too (other sequence numbers).
            if n >= 20 {
                assert_ne!(a, records(2, n));
            }
        }
        let r = records(0, 600);
        assert!(r.starts_with(br#"{"seq":0,"ts":1760000000,"room":"general","user":"alice""#));
        for n in [512, 16 << 10] {
            let z = compress_message(&records(3, n), 6).len();
            // Compressible like real JSON, far from all-same bytes.
            assert!(z * 2 < n && z * 30 > n, "{n} bytes compress to {z}");
        }
    }
}
