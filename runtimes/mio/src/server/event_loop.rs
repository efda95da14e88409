//! One event loop: a `mio::Poll` over the listeners, the waker and every connection of the
//! loop. Each turn: wait for readiness (or the earliest deadline), read and decode what is
//! ready into the loop's one receive buffer, hand events to the handler, run the handles'
//! commands and the expired deadlines, then write every connection that has output, once.

use std::io::{self, IoSlice};
use std::mem;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use ropeway_common::{AcceptAction, AcceptBackoff};
use ropeway_core::driver::{BufferRead, Goal, Piece, READ_SCRATCH, ScratchRead, Step, WriteStep};
use ropeway_core::handshake::{ServerHandshake, reject};
use ropeway_core::{Error, Event, Message};

use super::config::{Config, Delivery};
use super::conns::{Conns, Entry, Handshaking, State};
use super::context::Context;
use super::handle::{Command, Handle};
use super::handler::{Closed, Decision, Handler, Incoming, PieceRef};
use super::timers::{ACCEPT_PAUSE, Deadline, Timers};
use super::transport::{Transport, write_some};

/// The waker's token.
pub(crate) const WAKER: Token = Token(usize::MAX);
/// Listener `i` has token `LISTENERS + i`, above every connection's.
const LISTENERS: usize = usize::MAX - 1 - 1024;
/// Buffers handed to one vectored write.
const WRITE_SLICES: usize = 16;
/// The most of a buffer's spare room one read initializes (reads into safe Rust need
/// initialized memory; zeroing a 16 MiB frame's reservation per read would cost more than
/// the read).
const MAX_ZEROED_READ: usize = 64 << 10;
/// How long past the shutdown deadline a stopping loop still waits: connections end
/// themselves at the deadline (their close timer fires then) and need a turn to leave.
const LEAVING: Duration = Duration::from_millis(100);

/// One loop and everything it owns.
pub(crate) struct EventLoop<H: Handler> {
    index: u8,
    poll: Poll,
    listeners: Vec<TcpListener>,
    accepting: bool,
    backoff: AcceptBackoff,
    conns: Conns,
    /// The application's data per connection, by slot (apart from the slab, so a handler
    /// holds its connection's data while the context reaches every connection).
    data: Vec<Option<H::Conn>>,
    handler: H,
    timers: Timers,
    commands: Receiver<Command>,
    /// Commands were left in the queue last turn (it is drained a bounded amount at once).
    more_commands: bool,
    handle: Handle,
    config: Arc<Config>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ServerConfig>>,
    /// The one receive buffer: every read of a connection with no partial frame lands here.
    buf: Box<[u8]>,
    /// Once [`Handle::stop`] was seen: when the loop ends whatever is still open.
    stopping: Option<Instant>,
    /// Connections whose read budget ran out with input left: read on next turn.
    resume: Vec<u32>,
    now: Instant,
}

/// What a loop is built from.
pub(crate) struct Parts<H> {
    pub(crate) index: u8,
    pub(crate) poll: Poll,
    pub(crate) listeners: Vec<TcpListener>,
    pub(crate) handler: H,
    pub(crate) commands: Receiver<Command>,
    pub(crate) handle: Handle,
    pub(crate) config: Arc<Config>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
}

impl<H: Handler> EventLoop<H> {
    pub(crate) fn new(parts: Parts<H>) -> io::Result<Self> {
        let mut listeners = parts.listeners;
        for (i, listener) in listeners.iter_mut().enumerate() {
            parts
                .poll
                .registry()
                .register(listener, Token(LISTENERS + i), Interest::READABLE)?;
        }
        Ok(EventLoop {
            index: parts.index,
            poll: parts.poll,
            listeners,
            accepting: true,
            backoff: AcceptBackoff::new(),
            conns: Conns::new(
                parts.index,
                parts.config.slow_consumer,
                parts.handle.backplane(),
            ),
            data: Vec::new(),
            handler: parts.handler,
            timers: Timers::default(),
            commands: parts.commands,
            more_commands: false,
            handle: parts.handle,
            #[cfg(feature = "tls")]
            tls: parts.tls,
            buf: vec![0; READ_SCRATCH].into_boxed_slice(),
            resume: Vec::new(),
            stopping: None,
            now: Instant::now(),
            config: parts.config,
        })
    }

    /// Runs until [`Handle::stop`].
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(self.config.events_capacity.max(16));
        loop {
            if self.handle.is_stopped() && self.stopping.is_none() {
                self.stopping = Some(self.begin_stop());
            }
            if let Some(end) = self.stopping
                && (self.conns.len() == 0 || Instant::now() >= end)
            {
                self.stop();
                return Ok(());
            }
            let busy =
                !self.resume.is_empty() || !self.conns.dirty.is_empty() || self.more_commands;
            let timeout = if busy {
                Some(Duration::ZERO)
            } else {
                let now = Instant::now();
                let until_end = self.stopping.map(|end| end.saturating_duration_since(now));
                match (self.timers.timeout(now), until_end) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    WAKER => self.run_commands(),
                    Token(t) if t >= LISTENERS => self.accept(),
                    Token(t) => {
                        let closed = event.is_read_closed() || event.is_error();
                        let readable = event.is_readable() || closed;
                        let writable =
                            event.is_writable() || event.is_write_closed() || event.is_error();
                        self.on_ready(t as u32, readable, writable, closed);
                    }
                }
            }
            if self.more_commands {
                self.run_commands();
            }
            for index in mem::take(&mut self.resume) {
                if let Some(entry) = self.conns.entry_mut(index) {
                    entry.resumed = false;
                }
                self.drive(index, true);
            }
            self.expire_timers();
            self.write_dirty();
        }
    }

    // ------------------------------------------------------------- accepting

    fn accept(&mut self) {
        if !self.accepting {
            return;
        }
        for i in 0..self.listeners.len() {
            loop {
                match self.listeners[i].accept() {
                    Ok((tcp, peer)) => {
                        if let Some(failures) = self.backoff.on_success() {
                            tracing::info!(failures, "accepting again");
                        }
                        self.add(tcp, peer);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => match self.backoff.on_error(&e) {
                        AcceptAction::Retry => tracing::debug!(error = %e, "accept failed"),
                        AcceptAction::Pause { delay, first } => {
                            if first {
                                tracing::warn!(error = %e, ?delay, "accept failed: pausing");
                            }
                            self.pause_accepting(delay);
                            return;
                        }
                    },
                }
            }
        }
    }

    /// Out of descriptors or memory: stop listening (so readiness does not spin the loop)
    /// until the pause is over, through the deadline heap.
    fn pause_accepting(&mut self, delay: Duration) {
        self.accepting = false;
        for listener in &mut self.listeners {
            let _ = self.poll.registry().deregister(listener);
        }
        self.timers.push(Deadline {
            at: self.now + delay,
            index: ACCEPT_PAUSE,
            generation: 0,
        });
    }

    fn resume_accepting(&mut self) {
        self.accepting = true;
        for (i, listener) in self.listeners.iter_mut().enumerate() {
            let token = Token(LISTENERS + i);
            if let Err(e) = self
                .poll
                .registry()
                .register(listener, token, Interest::READABLE)
            {
                tracing::warn!(error = %e, "listening again failed");
            }
        }
        self.accept();
    }

    fn add(&mut self, tcp: TcpStream, peer: std::net::SocketAddr) {
        if self.config.nodelay {
            let _ = tcp.set_nodelay(true);
        }
        let transport = match self.transport(tcp) {
            Ok(transport) => transport,
            Err(e) => {
                self.handler.on_error(peer, Error::Io(e));
                return;
            }
        };
        let deadline = self.now + self.config.websocket.handshake_timeout;
        let entry = Entry {
            transport,
            state: State::Handshake(Box::new(Handshaking {
                handshake: ServerHandshake::new(&self.config.websocket),
                buf: BytesMut::new(),
                peer,
                opening: None,
                closing: false,
                error: None,
            })),
            armed: Some(deadline),
            peer_close: None,
            dirty: false,
            read_closed: false,
            drained: false,
            resumed: false,
        };
        let Some(id) = self.conns.insert(entry) else {
            return;
        };
        let index = id.index;
        let registered = match self.conns.entry_mut(index) {
            Some(entry) => self.poll.registry().register(
                entry.transport.tcp(),
                Token(index as usize),
                Interest::READABLE | Interest::WRITABLE,
            ),
            None => return,
        };
        if let Err(e) = registered {
            self.conns.remove(index);
            self.handler.on_error(peer, Error::Io(e));
            return;
        }
        if self.data.len() <= index as usize {
            self.data.resize_with(index as usize + 1, || None);
        }
        self.timers.push(Deadline {
            at: deadline,
            index,
            generation: id.generation,
        });
    }

    #[cfg(feature = "tls")]
    fn transport(&self, tcp: TcpStream) -> io::Result<Transport> {
        match &self.tls {
            Some(config) => Transport::tls(tcp, config.clone()),
            None => Ok(Transport::Plain(tcp)),
        }
    }

    #[cfg(not(feature = "tls"))]
    fn transport(&self, tcp: TcpStream) -> io::Result<Transport> {
        Ok(Transport::Plain(tcp))
    }

    // ------------------------------------------------------------- readiness

    fn on_ready(&mut self, index: u32, readable: bool, writable: bool, closed: bool) {
        let Some(entry) = self.conns.entry_mut(index) else {
            return;
        };
        entry.read_closed |= closed;
        if readable {
            // New input may have arrived since the last short read.
            entry.drained = false;
        }
        match &mut entry.state {
            State::Open(driver) => {
                if readable {
                    driver.handle_readable();
                }
                if writable {
                    driver.handle_writable();
                }
                self.drive(index, true);
            }
            State::Handshake(_) => self.drive_handshake(index),
        }
    }

    /// Carries out the driver's steps until it waits. With `stop_at_write`, a write is left
    /// for the end of the turn (the connection goes on the dirty list), so everything
    /// queued on it this turn goes out in one write.
    fn drive(&mut self, index: u32, stop_at_write: bool) {
        if self.drive_until_wait(index, stop_at_write) {
            self.conns.mark_dirty(index);
        }
    }

    /// Puts `index` on the list of connections read on next turn, once however many of
    /// this turn's drives spent their budget: with a duplicate per drive, a flooding peer's
    /// share grew turn after turn, and with it every other connection's wait (a steady
    /// ~360 ms per echo beside a data flood).
    fn read_next_turn(&mut self, index: u32) {
        if let Some(entry) = self.conns.entry_mut(index)
            && !mem::replace(&mut entry.resumed, true)
        {
            self.resume.push(index);
        }
    }

    /// [`EventLoop::drive`]; returns whether a write was put off to the end of the turn
    /// while the connection went on reading (it then goes on the dirty list).
    fn drive_until_wait(&mut self, index: u32, stop_at_write: bool) -> bool {
        // The first write of a turn is put off, not stopped at: reading on first means that
        // a connection with output already queued this turn (a broadcast's member that also
        // sends) reads its input now, in the turn, instead of in the end-of-turn writes,
        // where every message it read would be broadcast to members written moments ago
        // and cost each of them one more small write.
        let mut deferred = false;
        let mut budget = self.config.read_budget.max(1);
        let goal = match self.config.delivery {
            Delivery::Messages => Goal::Message,
            Delivery::Pieces(_) => Goal::Piece,
        };
        let now = self.now;
        let generation = self.conns.id(index).generation;
        loop {
            let Some(entry) = self.conns.entry_mut(index) else {
                return deferred;
            };
            let Entry {
                transport,
                state: State::Open(driver),
                armed,
                drained,
                read_closed,
                peer_close,
                ..
            } = entry
            else {
                return deferred;
            };
            if !stop_at_write {
                driver.handle_write_turn();
            }
            let mut step = driver.step(goal);
            // Steps answered here; what needs the loop itself (the handler, the lists) ends
            // the inner loop with what to do.
            let then = loop {
                step = match step {
                    Step::Write(write) => {
                        if !stop_at_write {
                            write_step(transport, write, now)
                        } else if !deferred {
                            deferred = true;
                            write.later()
                        } else {
                            break Then::WriteLater;
                        }
                    }
                    Step::Flush(flush) => match transport.flush() {
                        Ok(()) => flush.flushed(),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => flush.blocked(now),
                        Err(e) => flush.failed(e),
                    },
                    Step::ReadScratch(read) => {
                        if budget == 0 {
                            break Then::ReadNextTurn;
                        }
                        budget -= 1;
                        if std::mem::take(drained) {
                            // The last read came back short: this one would only say
                            // WouldBlock. Said now, with what was read decoded, so the driver
                            // gives its emptied buffers up.
                            read.blocked()
                        } else {
                            let (next, short) = read_scratch(transport, read, &mut self.buf);
                            *drained = short && transport.is_plain() && !*read_closed;
                            next
                        }
                    }
                    Step::ReadBuffer(read) => {
                        if budget == 0 {
                            break Then::ReadNextTurn;
                        }
                        budget -= 1;
                        if std::mem::take(drained) {
                            read.blocked()
                        } else {
                            let (next, short) = read_buffer(transport, read);
                            *drained = short && transport.is_plain() && !*read_closed;
                            next
                        }
                    }
                    Step::Timer(timer) => {
                        let at = timer.deadline();
                        if at <= now {
                            timer.expired(now)
                        } else {
                            if armed.is_none_or(|armed| at < armed) {
                                *armed = Some(at);
                                self.timers.push(Deadline {
                                    at,
                                    index,
                                    generation,
                                });
                            }
                            timer.armed()
                        }
                    }
                    Step::Shutdown(shutdown) => {
                        let result = if shutdown.graceful() {
                            transport.shutdown()
                        } else {
                            Ok(())
                        };
                        match result {
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                shutdown.blocked(now)
                            }
                            _ => shutdown.done(),
                        }
                    }
                    Step::Wait(_) => return deferred,
                    // Its share of this turn is used: the other connections go first.
                    Step::Yield => break Then::ReadNextTurn,
                    Step::Message(message) => break Then::Dispatch(message),
                    Step::Ready => break Then::TakePiece,
                    Step::Event(Event::Close(frame)) => {
                        *peer_close = frame.map(Box::new);
                        driver.step(goal)
                    }
                    Step::Event(_) => driver.step(goal),
                    Step::Ended(error) => break Then::Finish(error),
                };
            };
            match then {
                // Marked dirty by the caller.
                Then::WriteLater => return true,
                Then::ReadNextTurn => {
                    self.read_next_turn(index);
                    return deferred;
                }
                Then::Dispatch(message) => self.dispatch(index, message),
                Then::TakePiece => self.take_piece(index),
                Then::Finish(error) => {
                    self.finish(index, error);
                    return false;
                }
            }
        }
    }

    /// Hands a message to the handler.
    fn dispatch(&mut self, index: u32, message: Message) {
        let id = self.conns.id(index);
        if let Message::Close(frame) = message {
            if let Some(entry) = self.conns.entry_mut(index) {
                entry.peer_close = frame.map(Box::new);
            }
            return;
        }
        let Some(Some(data)) = self.data.get_mut(index as usize) else {
            return;
        };
        let mut cx = Context {
            conns: &mut self.conns,
            handle: &self.handle,
            now: self.now,
        };
        match message {
            Message::Ping(payload) => self.handler.on_ping(&mut cx, id, data, payload),
            Message::Pong(payload) => self.handler.on_pong(&mut cx, id, data, payload),
            message => self.handler.on_message(&mut cx, id, data, message),
        }
    }

    /// Hands the piece the driver made ready to the handler, through the receive buffer.
    fn take_piece(&mut self, index: u32) {
        let Delivery::Pieces(size) = self.config.delivery else {
            return;
        };
        let size = size.clamp(1, self.buf.len());
        loop {
            let Some(Entry {
                state: State::Open(driver),
                ..
            }) = self.conns.entry_mut(index)
            else {
                return;
            };
            let Some(piece) = driver.take_piece(&mut self.buf[..size]) else {
                return;
            };
            let Piece::Data {
                kind,
                len,
                end_of_message,
            } = piece
            else {
                return;
            };
            let id = self.conns.id(index);
            let Some(Some(data)) = self.data.get_mut(index as usize) else {
                return;
            };
            let mut cx = Context {
                conns: &mut self.conns,
                handle: &self.handle,
                now: self.now,
            };
            let piece = PieceRef {
                kind,
                data: &self.buf[..len],
                end: end_of_message,
            };
            self.handler.on_piece(&mut cx, id, data, piece);
        }
    }

    /// The connection ended: it leaves the loop, its data goes back to the handler.
    fn finish(&mut self, index: u32, error: Option<Error>) {
        let Some((id, mut entry)) = self.conns.remove(index) else {
            return;
        };
        let _ = self.poll.registry().deregister(entry.transport.tcp());
        let frame = entry.peer_close.take().map(|frame| *frame);
        drop(entry);
        if let Some(data) = self.data.get_mut(index as usize).and_then(Option::take) {
            let mut cx = Context {
                conns: &mut self.conns,
                handle: &self.handle,
                now: self.now,
            };
            self.handler
                .on_close(&mut cx, id, data, Closed { frame, error });
        }
    }

    // ------------------------------------------------------------- handshake

    fn drive_handshake(&mut self, index: u32) {
        loop {
            let Some(Entry {
                transport,
                state: State::Handshake(hs),
                ..
            }) = self.conns.entry_mut(index)
            else {
                return;
            };
            // The answer (a 101, an error, a page) goes out first, then TLS' own records.
            if !hs.handshake.output().is_empty() {
                match write_some(transport, hs.handshake.output()) {
                    Ok(n) => hs.handshake.advance_output(n),
                    Err(e) => return self.fail_handshake(index, Some(Error::Io(e))),
                }
                if !hs.handshake.output().is_empty() {
                    return;
                }
            }
            match transport.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => return self.fail_handshake(index, Some(Error::Io(e))),
            }
            if hs.closing {
                let _ = transport.shutdown();
                let error = hs.error.take();
                return self.fail_handshake(index, error);
            }
            if hs.opening.is_some() {
                return self.open(index);
            }
            match hs.handshake.recv(&mut hs.buf, &self.config.websocket) {
                Ok(Some(request)) => {
                    self.decide(index, request);
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    hs.closing = true;
                    hs.error = Some(e.into());
                    continue;
                }
            }
            match transport.read(&mut self.buf) {
                Ok(0) => {
                    let error = hs.handshake.handle_eof();
                    return self.fail_handshake(index, Some(Error::Handshake(error)));
                }
                Ok(n) => hs.buf.extend_from_slice(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail_handshake(index, Some(Error::Io(e))),
            }
        }
    }

    /// Asks the handler what to do with the request.
    fn decide(&mut self, index: u32, request: http::Request<()>) {
        let Some(Entry {
            state: State::Handshake(hs),
            ..
        }) = self.conns.entry_mut(index)
        else {
            return;
        };
        let incoming = Incoming {
            request: &request,
            peer: hs.peer,
        };
        let decision = self.handler.on_request(&incoming);
        let config = &self.config.websocket;
        match decision {
            Decision::Accept(accept, data) => match hs.handshake.accept(&request, accept, config) {
                Ok(accepted) => {
                    hs.opening = Some(accepted.into_connection(config, self.now));
                    if let Some(slot) = self.data.get_mut(index as usize) {
                        *slot = Some(data);
                    }
                }
                Err(e) => {
                    hs.closing = true;
                    hs.error = Some(e.into());
                }
            },
            Decision::Reject(status) => {
                let reason = status.canonical_reason().unwrap_or("refused");
                hs.handshake
                    .respond(reject(status), format!("{reason}\n").as_bytes());
                hs.closing = true;
            }
            Decision::Respond(response, body) => {
                hs.handshake.respond(response, &body);
                hs.closing = true;
            }
        }
    }

    /// The 101 is out: the connection opens on the driver, with the bytes read past the
    /// request (the first frames).
    fn open(&mut self, index: u32) {
        let Some(entry) = self.conns.entry_mut(index) else {
            return;
        };
        let State::Handshake(hs) = &mut entry.state else {
            return;
        };
        let Some(conn) = hs.opening.take() else {
            return;
        };
        let buffered = mem::take(&mut hs.buf);
        let read_size = self.config.websocket.read_buffer_size;
        entry.state = State::Open(ropeway_core::driver::Driver::new(conn, buffered, read_size));
        // The handshake deadline in the heap no longer matches: dropped when it comes up.
        entry.armed = None;
        let id = self.conns.id(index);
        if let Some(Some(data)) = self.data.get_mut(index as usize) {
            let mut cx = Context {
                conns: &mut self.conns,
                handle: &self.handle,
                now: self.now,
            };
            self.handler.on_open(&mut cx, id, data);
        }
        self.drive(index, true);
    }

    /// The connection ends before it opened.
    fn fail_handshake(&mut self, index: u32, error: Option<Error>) {
        let Some((_, mut entry)) = self.conns.remove(index) else {
            return;
        };
        let _ = self.poll.registry().deregister(entry.transport.tcp());
        if let Some(slot) = self.data.get_mut(index as usize) {
            *slot = None;
        }
        if let (State::Handshake(hs), Some(error)) = (&entry.state, error) {
            self.handler.on_error(hs.peer, error);
        }
    }

    // ------------------------------------------------------------- commands, timers, writes

    /// Runs what the handles queued, a bounded number at once.
    fn run_commands(&mut self) {
        self.handle.rearm(usize::from(self.index));
        let mut budget = self.config.queue_capacity.max(1);
        self.more_commands = false;
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Send(id, message) => {
                    let _ = self
                        .conns
                        .deliver(id, true, |driver| driver.send(message, Default::default()));
                }
                Command::SendPrepared(id, message) => {
                    let _ = self.conns.deliver(id, true, |driver| {
                        driver.send_prepared(&message, Default::default())
                    });
                }
                Command::Close(id, frame) => {
                    let _ = self.conns.close(id, frame);
                }
                Command::Broadcast(group, except, message) => {
                    self.conns
                        .broadcast(group.as_deref(), except, &message, true);
                }
            }
            budget -= 1;
            if budget == 0 {
                self.more_commands = true;
                break;
            }
        }
        self.report_dropped();
    }

    /// Tells the handler about messages dropped for slow consumers.
    fn report_dropped(&mut self) {
        let mut dropped = mem::take(&mut self.conns.dropped);
        for &index in &dropped {
            let id = self.conns.id(index);
            let Some(Some(data)) = self.data.get_mut(index as usize) else {
                continue;
            };
            let mut cx = Context {
                conns: &mut self.conns,
                handle: &self.handle,
                now: self.now,
            };
            self.handler.on_dropped(&mut cx, id, data);
        }
        dropped.clear();
        if self.conns.dropped.is_empty() {
            self.conns.dropped = dropped;
        }
    }

    fn expire_timers(&mut self) {
        while let Some(deadline) = self.timers.pop_expired(self.now) {
            if deadline.index == ACCEPT_PAUSE {
                self.resume_accepting();
                continue;
            }
            let Some(entry) = self.conns.entry_of(deadline.index, deadline.generation) else {
                continue;
            };
            if entry.armed != Some(deadline.at) {
                continue;
            }
            entry.armed = None;
            match &mut entry.state {
                State::Open(driver) => {
                    driver.handle_timeout(self.now);
                    self.drive(deadline.index, true);
                }
                State::Handshake(_) => {
                    // Slowloris: the request head (or the reading of our answer) took longer
                    // than the handshake timeout.
                    self.fail_handshake(deadline.index, Some(Error::HandshakeTimeout));
                }
            }
        }
        self.report_dropped();
    }

    /// Writes every connection that has output, once each (and goes on with it: reads it
    /// to `WouldBlock`, which may queue more elsewhere).
    fn write_dirty(&mut self) {
        while let Some(index) = self.conns.dirty.pop() {
            if let Some(entry) = self.conns.entry_mut(index) {
                entry.dirty = false;
            }
            self.drive(index, false);
        }
        self.report_dropped();
    }

    /// [`Handle::stop`], the graceful shutdown: the loop stops accepting, every open
    /// connection gets [`Config::going_away`] with its close handshake bounded by
    /// [`Config::shutdown_timeout`] (the driver's close path ends it at that deadline), and
    /// connections still in their opening handshake end at once. The loop runs on until
    /// every connection has ended; returns when it ends the rest.
    fn begin_stop(&mut self) -> Instant {
        self.now = Instant::now();
        let deadline = self.now + self.config.shutdown_timeout;
        self.accepting = false;
        for listener in &mut self.listeners {
            let _ = self.poll.registry().deregister(listener);
        }
        // Closed, so new clients are refused rather than left waiting in the backlog.
        self.listeners.clear();
        let frame = self.config.going_away.clone();
        for index in self.conns.indices() {
            match self.conns.entry_mut(index) {
                Some(Entry {
                    state: State::Open(driver),
                    ..
                }) => {
                    if driver.close_by(Some(frame.clone()), deadline).is_err() {
                        let _ = driver.close_by(None, deadline);
                    }
                    self.drive(index, false);
                }
                Some(_) => self.fail_handshake(index, None),
                None => {}
            }
        }
        self.report_dropped();
        deadline + LEAVING
    }

    /// The end of a stop: what is still open (nothing, unless a connection outlived its
    /// deadline) is closed and written once; the loop then ends, dropping every socket.
    fn stop(&mut self) {
        for index in self.conns.indices() {
            if let Some(Entry {
                state: State::Open(driver),
                ..
            }) = self.conns.entry_mut(index)
            {
                let _ = driver.close(Some(self.config.going_away.clone()));
                self.drive(index, false);
            }
        }
        for index in self.conns.indices() {
            self.finish(index, Some(Error::Closed));
        }
    }
}

/// What [`EventLoop::drive`] does once a step needs the loop itself.
enum Then {
    /// Write at the end of the turn, with everything else queued on it this turn.
    WriteLater,
    /// Come back on the next turn (the read budget or the driver's work budget ran out).
    ReadNextTurn,
    /// Hand a message to the handler.
    Dispatch(Message),
    /// Hand a piece to the handler.
    TakePiece,
    /// The connection ended.
    Finish(Option<Error>),
}

/// One write of the queued output; several frames go out at once. A write that takes
/// everything is flushed in the same turn (the next step says so).
fn write_step<'a>(transport: &mut Transport, mut step: WriteStep<'a>, now: Instant) -> Step<'a> {
    let clock = || now;
    let result = if step.is_contiguous() {
        transport.write(step.bytes(clock))
    } else {
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let count = step.vectored(clock, &mut slices);
        transport.write_vectored(&slices[..count])
    };
    match result {
        Ok(n) => step.written(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => step.blocked(now),
        // Retried: the write step comes back.
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Step::Yield,
        Err(e) => step.failed(e),
    }
}

/// One read into the loop's buffer (no frame is partial), and whether it came back short.
///
/// A short read (some bytes, fewer than offered) on a plain socket lets the caller take the
/// socket as emptied and answer the driver's next read step with "would block" without a
/// system call, which saves the read that would only say `WouldBlock` after every message:
/// the receive queue was empty when the read came back short, and any byte arriving later
/// is a new readiness edge (epoll and kqueue report every arrival after the last event was
/// taken). Bytes and the end of stream that arrived together before the event are the
/// exception: such an event says read-closed, and the caller then reads on until
/// `WouldBlock`. (Through TLS, bytes come out of rustls' buffers: a short read says nothing
/// about the socket.)
fn read_scratch<'a>(
    transport: &mut Transport,
    step: ScratchRead<'a>,
    scratch: &mut [u8],
) -> (Step<'a>, bool) {
    match transport.read(scratch) {
        Ok(n) => (step.read(&scratch[..n]), n > 0 && n < scratch.len()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => (step.blocked(), false),
        // Retried: the read step comes back.
        Err(e) if e.kind() == io::ErrorKind::Interrupted => (Step::Yield, false),
        Err(e) => (step.failed(e), false),
    }
}

/// One read into the driver's buffer (a frame in progress), and whether it came back short
/// (see [`read_scratch`]). The spare room is zeroed first, at most [`MAX_ZEROED_READ`].
fn read_buffer<'a>(transport: &mut Transport, mut step: BufferRead<'a>) -> (Step<'a>, bool) {
    let buf = step.buf();
    let len = buf.len();
    let room = (buf.capacity() - len).clamp(4096, MAX_ZEROED_READ);
    buf.resize(len + room, 0);
    let result = transport.read(&mut buf[len..]);
    buf.truncate(len + *result.as_ref().unwrap_or(&0));
    match result {
        Ok(n) => (step.filled(n), n > 0 && n < room),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => (step.blocked(), false),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => (Step::Yield, false),
        Err(e) => (step.failed(e), false),
    }
}
