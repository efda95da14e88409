//! The driven pair: a client and a server [`Driver`] joined by two bounded in-memory pipes,
//! with a virtual clock and arbitrary cuts. Each side's steps are carried out here the way a
//! runtime adapter carries them out over a socket, so connection policy (close paths,
//! keep-alive, backpressure, the end after each error) is tested once, without sockets or
//! sleeps, for both roles.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use ropeway_core::driver::{Driver, Goal, Next, Step};
use ropeway_core::{Config, Role};

use super::{Chunker, Pair, Whole};

/// One direction of the transport: bytes in flight, at most `capacity` of them (the two
/// kernels' socket buffers), then the writer blocks.
pub struct Pipe {
    bytes: VecDeque<u8>,
    pub capacity: usize,
    /// The writer shut its side down: the reader sees end of stream once the bytes are read.
    pub closed: bool,
    /// The writer aborted: the reader's reads fail once the bytes in flight are read (as
    /// Linux keeps data that arrived before a reset readable).
    pub reset: bool,
    /// The reader is gone (it reset the connection): writes fail.
    pub refused: bool,
}

impl Pipe {
    fn new(capacity: usize) -> Self {
        Pipe {
            bytes: VecDeque::new(),
            capacity,
            closed: false,
            reset: false,
            refused: false,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Takes every byte in flight (what a peer that reads everything would take).
    pub fn take_all(&mut self) -> Vec<u8> {
        self.bytes.drain(..).collect()
    }

    /// Puts bytes in flight as a raw peer would, whatever the capacity.
    pub fn inject(&mut self, bytes: &[u8]) {
        self.bytes.extend(bytes);
    }
}

/// What a side's steps ended with when [`Driven::drive`] returns.
#[derive(Debug)]
pub enum Outcome {
    /// The goal's answer: a message, an event, ready, or the end.
    Reached(Next),
    /// Everything waits (on the pipes or the clock).
    Waiting,
}

impl Outcome {
    pub fn next(self) -> Next {
        match self {
            Outcome::Reached(next) => next,
            Outcome::Waiting => panic!("the driver is waiting, nothing was reached"),
        }
    }
}

/// What happened to one side's transport.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// Shut down, and how: `Some(true)` gracefully, `Some(false)` aborted.
    pub shutdown: Option<bool>,
}

/// A client and a server driver over two pipes.
pub struct Driven {
    pub client: Driver,
    pub server: Driver,
    /// Client to server.
    pub up: Pipe,
    /// Server to client.
    pub down: Pipe,
    pub client_transport: Transport,
    pub server_transport: Transport,
    pub now: Instant,
    pub chunker: Box<dyn Chunker>,
    /// The most one read takes.
    pub read_size: usize,
}

impl Driven {
    /// A pair after a real opening handshake, with pipes of `capacity` bytes each way.
    pub fn new(config: Config, capacity: usize) -> Driven {
        Driven::with(config, config, capacity, Box::new(Whole))
    }

    pub fn with(
        client: Config,
        server: Config,
        capacity: usize,
        chunker: Box<dyn Chunker>,
    ) -> Driven {
        let pair = Pair::with(client, server, Box::new(Whole));
        Driven::from_pair(pair, capacity, chunker)
    }

    pub fn from_pair(pair: Pair, capacity: usize, chunker: Box<dyn Chunker>) -> Driven {
        let Pair {
            client,
            server,
            now,
            ..
        } = pair;
        Driven {
            client: Driver::new(client.conn, client.input, 4096),
            server: Driver::new(server.conn, server.input, 4096),
            up: Pipe::new(capacity),
            down: Pipe::new(capacity),
            client_transport: Transport::default(),
            server_transport: Transport::default(),
            now,
            chunker,
            read_size: 32 << 10,
        }
    }

    pub fn driver(&mut self, role: Role) -> &mut Driver {
        match role {
            Role::Client => &mut self.client,
            Role::Server => &mut self.server,
        }
    }

    pub fn transport(&self, role: Role) -> Transport {
        match role {
            Role::Client => self.client_transport,
            Role::Server => self.server_transport,
        }
    }

    /// The pipe `role` writes into.
    pub fn outgoing(&mut self, role: Role) -> &mut Pipe {
        match role {
            Role::Client => &mut self.up,
            Role::Server => &mut self.down,
        }
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// Carries out `role`'s steps towards `goal`, as a future does for one poll: every
    /// blocked operation is retried first (a wake-up), then it runs until the goal is
    /// reached or everything waits.
    pub fn drive(&mut self, role: Role, goal: Goal) -> Outcome {
        let now = self.now;
        let read_size = self.read_size;
        let (driver, (incoming, outgoing), transport) = match role {
            Role::Client => (
                &mut self.client,
                (&mut self.down, &mut self.up),
                &mut self.client_transport,
            ),
            Role::Server => (
                &mut self.server,
                (&mut self.up, &mut self.down),
                &mut self.server_transport,
            ),
        };
        // The typed step contract, as the async adapter carries it out: each step is
        // answered through itself, and the answer is the next step.
        let mut step = driver.step_woken(goal);
        for _ in 0..1_000_000 {
            step = match step {
                Step::Write(mut write) => {
                    let out = write.bytes(|| now);
                    let room = outgoing.capacity.saturating_sub(outgoing.len());
                    let n = out.len().min(room).min(self.chunker.next());
                    if outgoing.closed || outgoing.reset || outgoing.refused {
                        write.failed(io::ErrorKind::BrokenPipe.into())
                    } else if n == 0 {
                        write.blocked(now)
                    } else {
                        outgoing.bytes.extend(&out[..n]);
                        write.written(n)
                    }
                }
                Step::Flush(flush) => flush.flushed(),
                Step::ReadScratch(read) => {
                    if incoming.reset && incoming.bytes.is_empty() {
                        read.failed(io::ErrorKind::ConnectionReset.into())
                    } else if incoming.bytes.is_empty() {
                        if incoming.closed {
                            read.read(&[])
                        } else {
                            read.blocked()
                        }
                    } else {
                        let n = incoming.len().min(read_size).min(self.chunker.next());
                        let bytes: Vec<u8> = incoming.bytes.drain(..n).collect();
                        read.read(&bytes)
                    }
                }
                Step::ReadBuffer(mut read) => {
                    if incoming.reset && incoming.bytes.is_empty() {
                        read.failed(io::ErrorKind::ConnectionReset.into())
                    } else if incoming.bytes.is_empty() {
                        if incoming.closed {
                            read.filled(0)
                        } else {
                            read.blocked()
                        }
                    } else {
                        let n = incoming.len().min(read_size).min(self.chunker.next());
                        read.buf().extend(incoming.bytes.drain(..n));
                        read.filled(n)
                    }
                }
                Step::Timer(timer) => {
                    if timer.deadline() <= now {
                        timer.expired(now)
                    } else {
                        timer.armed()
                    }
                }
                Step::Wait(_) => return Outcome::Waiting,
                // One connection per side, nobody else to let run.
                Step::Yield => driver.step(goal),
                Step::Shutdown(shutdown) => {
                    if shutdown.graceful() {
                        outgoing.closed = true;
                    } else {
                        outgoing.reset = true;
                    }
                    transport.shutdown.get_or_insert(shutdown.graceful());
                    shutdown.done()
                }
                Step::Message(message) => return Outcome::Reached(Next::Message(message)),
                Step::Event(event) => return Outcome::Reached(Next::Event(event)),
                Step::Ready => return Outcome::Reached(Next::Ready),
                Step::Ended(error) => return Outcome::Reached(Next::Ended(error)),
            };
        }
        panic!("{role:?} made steps forever without reaching {goal:?} or waiting");
    }

    /// Drives `role` towards `goal` until it is reached, letting the other side receive (and
    /// drop) what it gets meanwhile.
    pub fn until(&mut self, role: Role, goal: Goal) -> Next {
        for _ in 0..1000 {
            if let Outcome::Reached(next) = self.drive(role, goal) {
                return next;
            }
            let other = match role {
                Role::Client => Role::Server,
                Role::Server => Role::Client,
            };
            let _ = self.drive(other, Goal::Event);
        }
        panic!("{role:?} never reached {goal:?}");
    }
}
