//! The pair simulator: a client core and a server core joined by in-memory byte streams,
//! with a virtual clock and the streams cut at arbitrary points. No sockets, no sleeps.
#![allow(dead_code)]

pub mod driven;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ropeway_core::extension::{ClientExtension, ServerExtension};

use ropeway_core::handshake::{
    Accept, ClientHandshake, ClientRequest, RequestReader, UpgradeRequest, write_response,
};
use ropeway_core::{BytesMut, Config, Connection, ConnectionError, Event, Role, SeededEntropy};

/// Decides where the byte stream is cut: each call gives the size of the next piece.
pub trait Chunker {
    /// The size of the next piece (at least 1).
    fn next(&mut self) -> usize;
}

/// Whole writes, uncut.
pub struct Whole;
impl Chunker for Whole {
    fn next(&mut self) -> usize {
        usize::MAX
    }
}

/// Pieces of random sizes in `1..=max`, from a seeded xorshift.
pub struct RandomCuts {
    state: u64,
    max: usize,
}
impl RandomCuts {
    pub fn new(seed: u64, max: usize) -> Self {
        RandomCuts {
            state: seed | 1,
            max,
        }
    }
}
impl Chunker for RandomCuts {
    fn next(&mut self) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        1 + (self.state % self.max as u64) as usize
    }
}

/// A fixed list of piece sizes, repeated.
pub struct Cuts(pub Vec<usize>, pub usize);
impl Chunker for Cuts {
    fn next(&mut self) -> usize {
        if self.0.is_empty() {
            return usize::MAX;
        }
        let n = self.0[self.1 % self.0.len()].max(1);
        self.1 += 1;
        n
    }
}

/// One end of the pair: its core, its read buffer and what it saw.
pub struct Side {
    pub conn: Connection,
    pub input: BytesMut,
    pub events: Vec<Event>,
    pub error: Option<ConnectionError>,
    /// Use `recv_partial` instead of `recv`.
    pub partial: bool,
    /// A peer that is gone: it neither reads nor sends.
    pub deaf: bool,
}

impl Side {
    fn new(conn: Connection) -> Self {
        Side {
            conn,
            input: BytesMut::new(),
            events: Vec::new(),
            error: None,
            partial: false,
            deaf: false,
        }
    }

    /// Decodes every event the buffered input holds.
    pub fn drain(&mut self) {
        loop {
            let result = if self.partial {
                self.conn.recv_partial(&mut self.input)
            } else {
                self.conn.recv(&mut self.input)
            };
            match result {
                Ok(Some(event)) => self.events.push(event),
                Ok(None) => return,
                Err(e) => {
                    self.error.get_or_insert(e);
                    return;
                }
            }
        }
    }

    /// Takes the events seen so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

/// A client and a server core after a real opening handshake.
pub struct Pair {
    pub client: Side,
    pub server: Side,
    pub now: Instant,
    pub chunker: Box<dyn Chunker>,
}

impl Pair {
    /// A pair with default settings, streams uncut.
    pub fn new() -> Pair {
        Pair::with(Config::default(), Config::default(), Box::new(Whole))
    }

    /// A pair whose streams are cut by `chunker`.
    pub fn cut(chunker: impl Chunker + 'static) -> Pair {
        Pair::with(Config::default(), Config::default(), Box::new(chunker))
    }

    /// A pair with the given settings, after a handshake that also goes through `chunker`.
    pub fn with(client: Config, server: Config, chunker: Box<dyn Chunker>) -> Pair {
        Pair::with_extensions(client, server, chunker, Vec::new(), Vec::new())
    }

    /// A pair whose handshake negotiates the given extensions.
    pub fn with_extensions(
        client: Config,
        server: Config,
        mut chunker: Box<dyn Chunker>,
        client_extensions: Vec<Arc<dyn ClientExtension>>,
        server_extensions: Vec<Arc<dyn ServerExtension>>,
    ) -> Pair {
        let now = Instant::now();
        let mut entropy = SeededEntropy::from_seed([7; 32]);
        let request = ClientRequest::from_url("ws://example.com/chat?room=1").unwrap();
        let mut request_bytes = BytesMut::new();
        let mut handshake = ClientHandshake::new(
            &request,
            client_extensions,
            &mut entropy,
            &client.limits,
            &mut request_bytes,
        );

        let mut reader = RequestReader::new(&server.limits);
        let mut server_in = BytesMut::new();
        let mut request = None;
        for piece in split(&request_bytes, chunker.as_mut()) {
            server_in.extend_from_slice(piece);
            if let Some(r) = reader.recv(&mut server_in).unwrap() {
                request = Some(r);
            }
        }
        let upgrade = UpgradeRequest::from_request(request.expect("request parsed")).unwrap();
        let mut accept = Accept::default();
        let mut server_extension = None;
        if let Some((answer, ext)) = upgrade.negotiate(&server_extensions) {
            accept.extensions.push(answer);
            server_extension = Some(ext);
        }
        let mut response_bytes = BytesMut::new();
        write_response(&upgrade.accept(&accept), &[], &mut response_bytes);

        let mut client_in = BytesMut::new();
        let mut accepted = None;
        for piece in split(&response_bytes, chunker.as_mut()) {
            client_in.extend_from_slice(piece);
            if let Some(a) = handshake.recv(&mut client_in).unwrap() {
                accepted = Some(a);
            }
        }
        let accepted = accepted.expect("handshake completed");
        let mut client =
            Connection::client(client, Box::new(SeededEntropy::from_seed([9; 32])), now);
        if let Some(ext) = accepted.extension {
            client = client.with_extension(ext);
        }
        let mut server = Connection::server(server, now);
        if let Some(ext) = server_extension {
            server = server.with_extension(ext);
        }
        let mut pair = Pair {
            client: Side::new(client),
            server: Side::new(server),
            now,
            chunker,
        };
        pair.client.input = client_in;
        pair.server.input = server_in;
        pair
    }

    pub fn side(&mut self, role: Role) -> &mut Side {
        match role {
            Role::Client => &mut self.client,
            Role::Server => &mut self.server,
        }
    }

    /// Moves bytes both ways, piece by piece, decoding after each piece, until nothing moves.
    pub fn transfer(&mut self) {
        loop {
            let a = self.flow(Role::Client);
            let b = self.flow(Role::Server);
            if !a && !b {
                return;
            }
        }
    }

    /// Moves what `from` has queued to the other side. Returns whether anything moved.
    pub fn flow(&mut self, from: Role) -> bool {
        let now = self.now;
        let (src, dst) = match from {
            Role::Client => (&mut self.client, &mut self.server),
            Role::Server => (&mut self.server, &mut self.client),
        };
        if src.deaf {
            return false;
        }
        let out = src.conn.poll_transmit(now).to_vec();
        if out.is_empty() {
            return false;
        }
        src.conn.advance_transmit(out.len());
        if dst.deaf {
            return true;
        }
        for piece in split(&out, self.chunker.as_mut()) {
            dst.input.extend_from_slice(piece);
            dst.drain();
        }
        true
    }

    /// Advances the virtual clock by `by`, firing due timers on both sides, then transfers.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        for side in [&mut self.client, &mut self.server] {
            side.conn.handle_timeout(self.now);
        }
        self.transfer();
    }

    /// The transport ends in both directions after `from` closes it.
    pub fn eof_to(&mut self, to: Role) {
        let side = self.side(to);
        side.conn.handle_eof();
        side.drain();
    }
}

/// Cuts `bytes` into pieces as `chunker` says.
pub fn split<'a>(bytes: &'a [u8], chunker: &mut dyn Chunker) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = chunker.next().min(rest.len());
        let (piece, tail) = rest.split_at(n);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Joins the data events into whole messages: (is_text, bytes). Checks that pieces say
/// truthfully where messages start.
pub fn messages(events: &[Event]) -> Vec<(bool, Vec<u8>)> {
    let mut out = Vec::new();
    let mut current: Option<(bool, Vec<u8>)> = None;
    for event in events {
        if let Event::Data(d) = event {
            assert_eq!(d.message_start, current.is_none(), "message_start flag");
            let is_text = d.kind == ropeway_core::MessageKind::Text;
            let entry = current.get_or_insert_with(|| (is_text, Vec::new()));
            entry.1.extend_from_slice(&d.payload);
            if d.message_end {
                out.extend(current.take());
            }
        }
    }
    out
}

/// Seconds as a `Duration`.
pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
