//! The load generator's side of the WebSocket wire format: pre-built masked
//! client frames, and an incremental reader that checks echoed server frames
//! in place, without copying or allocating.

/// The mask key of every pre-built frame. Any key costs the server the same.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Opcode of a text frame.
pub const TEXT: u8 = 1;
/// Opcode of a binary frame.
pub const BINARY: u8 = 2;

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

/// Appends a frame header (FIN set) for `len` payload bytes.
fn header(out: &mut Vec<u8>, fin: bool, opcode: u8, len: usize, masked: bool) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
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

/// A complete client frame (FIN set) masked with [`MASK`].
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 14);
    header(&mut f, true, opcode, payload.len(), true);
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// An unmasked (server) frame, for tests and tools.
pub fn server_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 10);
    header(&mut f, fin, opcode, payload.len(), false);
    f.extend_from_slice(payload);
    f
}

/// What the echo of the message in flight must be.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// [`TEXT`] or [`BINARY`].
    pub opcode: u8,
    /// The unmasked payload that was sent.
    pub payload: &'a [u8],
    /// Compare every byte (else: length, first and last byte).
    pub verify: bool,
}

/// Reads echoed server frames incrementally: any split of the byte stream,
/// several frames per read, fragmented messages, interleaved ping/pong.
#[derive(Debug, Default, Clone)]
pub struct EchoReader {
    /// A data frame of the current message was seen.
    in_msg: bool,
    /// Payload bytes of the current message so far.
    msg_got: usize,
    /// Payload bytes of the current frame still to come.
    frame_left: u64,
    /// The current frame is a control frame being skipped.
    skipping: bool,
    /// The current frame ends its message.
    frame_fin: bool,
}

impl EchoReader {
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
                    self.check(&buf[pos..pos + n], exp)?;
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
            if b0 & 0x70 != 0 {
                return Err(format!("RSV bits set in server frame: {b0:#04x}"));
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
            let fin = b0 & 0x80 != 0;
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
                }
                8 => return Err("server sent a close frame".into()),
                9 | 10 if fin && plen <= 125 => self.skipping = true,
                _ => return Err(format!("unexpected or malformed frame, opcode {opcode}")),
            }
            if !self.skipping && self.msg_got as u64 + plen > exp.payload.len() as u64 {
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
        if self.msg_got != exp.payload.len() {
            return Err(format!(
                "echo has {} bytes, sent {}",
                self.msg_got,
                exp.payload.len()
            ));
        }
        self.in_msg = false;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(k: usize, n: usize, text: bool) -> Vec<u8> {
        (0..n).map(|i| pattern(k, i, text)).collect()
    }

    /// Feeds `stream` in chunks of `chunk` bytes, as a socket would deliver it,
    /// carrying partial headers over; returns the number of messages completed.
    fn run(stream: &[u8], chunk: usize, exp: &Expect<'_>) -> Result<usize, String> {
        let mut r = EchoReader::default();
        let mut buf = Vec::new();
        let mut done = 0;
        for piece in stream.chunks(chunk) {
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
}
