//! How a fuzzer's input is read: a flags byte, the bytes the peer sends, and a list of
//! choices (where the stream is cut, which call comes next, how much time passes).
//!
//! Layout: `[flags, n, payload…, choices…]` where the last `n` bytes are the choices. The
//! payload stays one contiguous run, so the fuzzer's mutations and comparison hints work on
//! the wire bytes directly, and a choice byte changes how the stream is delivered without
//! changing what it says.

use std::time::Duration;

/// A fuzzer input split into its parts.
#[derive(Clone, Copy, Debug)]
pub struct Script<'a> {
    /// Target-specific settings (roles, extensions, limits).
    pub flags: u8,
    /// The bytes the peer sends, in order.
    pub payload: &'a [u8],
    /// One byte per step; when they run out, the rest of the payload arrives in one piece.
    pub choices: &'a [u8],
}

impl<'a> Script<'a> {
    /// Splits `data`; a short input is all defaults.
    pub fn parse(data: &'a [u8]) -> Script<'a> {
        let flags = data.first().copied().unwrap_or(0);
        let rest = data.get(2..).unwrap_or(&[]);
        let n = usize::from(data.get(1).copied().unwrap_or(0)).min(rest.len());
        let (payload, choices) = rest.split_at(rest.len() - n);
        Script {
            flags,
            payload,
            choices,
        }
    }

    /// The inverse of [`Script::parse`], for building seeds.
    pub fn encode(flags: u8, payload: &[u8], choices: &[u8]) -> Vec<u8> {
        assert!(choices.len() <= 255, "at most 255 choices");
        let mut out = Vec::with_capacity(2 + payload.len() + choices.len());
        out.push(flags);
        out.push(choices.len() as u8);
        out.extend_from_slice(payload);
        out.extend_from_slice(choices);
        out
    }

    /// The payload cut where the choices say: each choice byte is the size of one piece
    /// ([`piece_len`]); the last piece is whatever is left.
    pub fn pieces(&self) -> Vec<&'a [u8]> {
        let mut pieces = Vec::new();
        let mut rest = self.payload;
        for &choice in self.choices {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at(piece_len(choice).min(rest.len()));
            pieces.push(piece);
            rest = tail;
        }
        if !rest.is_empty() {
            pieces.push(rest);
        }
        pieces
    }

    /// The payload still to be read, taken from the front.
    pub fn stream(&self) -> Stream<'a> {
        Stream(self.payload)
    }

    /// The steps a connection target takes, each choice byte decoded by [`Op::decode`],
    /// ending with the rest of the payload decoded whole.
    pub fn ops(&self) -> Vec<Op> {
        let mut ops: Vec<Op> = self.choices.iter().map(|&c| Op::decode(c)).collect();
        ops.push(Op::Feed {
            len: usize::MAX,
            partial: false,
        });
        ops
    }
}

/// What is left of the payload; the transport reads from its front.
#[derive(Clone, Copy, Debug)]
pub struct Stream<'a>(pub &'a [u8]);

impl<'a> Stream<'a> {
    /// Takes up to `len` bytes off the front.
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let (piece, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        piece
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The size of a piece of the stream from one byte: small sizes one by one (where frame
/// headers get cut), then powers of two up to 32 KiB.
pub fn piece_len(choice: u8) -> usize {
    match choice {
        0..=191 => usize::from(choice) + 1,
        _ => 256 << ((choice - 192) % 8),
    }
}

/// One step of a connection target: what the transport or the application does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// The transport reads `len` more bytes of the payload (at most what is left); the
    /// endpoint decodes all it can, with `recv_partial` when `partial`.
    Feed {
        /// Bytes to read.
        len: usize,
        /// Use `recv_partial` instead of `recv`.
        partial: bool,
    },
    /// The transport reads `len` bytes but nothing is decoded yet (they pile up in the read
    /// buffer, so the next decode finds several frames at once).
    Buffer {
        /// Bytes to read.
        len: usize,
    },
    /// The transport writes up to `max` bytes of the queued output (`usize::MAX`: all).
    Write {
        /// The most the transport takes.
        max: usize,
        /// With one vectored write per round (`poll_transmit_vectored`).
        vectored: bool,
    },
    /// The transport takes everything queued as one owned buffer (as an HTTP/2 stream does).
    TakeAll,
    /// The transport would block: it took none of the queued output.
    Blocked,
    /// Time passes; timers fire.
    Wait(Duration),
    /// The application starts the close handshake (with a code when `with_code`).
    Close {
        /// Send 1000 with a reason rather than an empty close frame.
        with_code: bool,
    },
    /// The application sends something of its own.
    Send(Send),
}

/// What the application sends in [`Op::Send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Send {
    /// A ping with this many payload bytes (at most 125).
    Ping(usize),
    /// A whole text message of this many bytes.
    Text(usize),
    /// A whole binary message of this many bytes, as `Bytes` (large ones go by reference).
    Binary(usize),
    /// One fragment of a binary message; `fin` ends it.
    Fragment {
        /// Payload size.
        len: usize,
        /// Last fragment.
        fin: bool,
    },
}

/// How long each [`Op::Wait`] lasts: around the default keep-alive interval (120 s), its
/// timeout (30 s) and the close timeout (5 s), so every timer can fire.
const WAITS: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(29),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
];

impl Op {
    /// The low three bits pick the step, the high five its size or variant.
    pub fn decode(choice: u8) -> Op {
        let arg = choice >> 3;
        let len = small_len(arg);
        match choice & 7 {
            0 => Op::Feed {
                len,
                partial: false,
            },
            1 => Op::Feed { len, partial: true },
            2 => Op::Buffer { len },
            3 => Op::Write {
                max: if arg == 0 { usize::MAX } else { len },
                vectored: false,
            },
            4 => Op::Wait(WAITS[usize::from(arg % 8)]),
            5 => Op::Close {
                with_code: arg & 1 == 1,
            },
            6 => Op::Send(match arg & 3 {
                0 => Send::Ping(usize::from(arg >> 2) * 17),
                1 => Send::Text(sizes(arg >> 2)),
                2 => Send::Binary(sizes(arg >> 2)),
                _ => Send::Fragment {
                    len: sizes(arg >> 3),
                    fin: arg & 4 != 0,
                },
            }),
            _ => match arg & 3 {
                0 => Op::TakeAll,
                1 => Op::Blocked,
                _ => Op::Write {
                    max: match arg >> 2 {
                        0 => usize::MAX,
                        n => small_len(n * 3),
                    },
                    vectored: true,
                },
            },
        }
    }

    /// The choice byte that decodes to this step, where there is one (for seeds).
    pub fn encode(self) -> Option<u8> {
        (0..=255u8).find(|&c| Op::decode(c) == self)
    }
}

/// 1 to 24 one by one, then 32 bytes to 4 KiB.
fn small_len(arg: u8) -> usize {
    match arg {
        0..=23 => usize::from(arg) + 1,
        _ => 32 << (arg - 24),
    }
}

/// Message sizes around the thresholds that matter: empty, small, the 7-bit and 16-bit
/// length encodings, and the 8 KiB from which a server sends a payload by reference.
fn sizes(arg: u8) -> usize {
    [0, 1, 125, 126, 1000, (8 << 10) - 1, 8 << 10, 3][usize::from(arg % 8)]
}
