//! One connection shared by the handles of a blocking client (a [`super::WebSocket`], or the
//! [`super::Reader`] and [`super::Writer`] it splits into), and the loop that carries out the
//! core driver's steps with blocking sockets.
//!
//! # Three locks, and why no thread waits forever
//!
//! * `state` holds the [`Driver`] (and the rustls state for `wss://`). It is only ever held
//!   for work that does not block: polling the driver, feeding it bytes already read,
//!   encrypting and decrypting. No thread blocks in the kernel while holding it.
//! * `read` holds the socket's read side and its buffer. The thread receiving holds it while
//!   it blocks in `read`; nobody else needs it then.
//! * `write` holds the socket's write side. Whoever holds it writes everything the driver
//!   has queued, with the state lock released while the bytes go out (bounded by the write
//!   timeout).
//!
//! Lock order: a thread *blocks* on `write` only while it holds neither of the others' state
//! (it drops `state` first and takes it again after), and only *tries* `write` while holding
//! `state`. So no cycle of waits exists.
//!
//! No lost answer: a receiving thread that queues an answer (a pong, the reply to a close)
//! while another thread holds `write` does not wait for it; it tells the driver the write is
//! blocked and goes on reading while the output stays within its limit. The holder writes
//! that answer before it lets go: it looks for queued output and releases `write` while it
//! still holds `state`, so an answer is either queued before that look or finds `write`
//! free.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ropeway_core::Error;
use ropeway_core::driver::{Driver, Goal, Next, READ_SCRATCH};
use ropeway_core::extension::ExtensionOffer;

use super::options::{Options, Timeout};

/// How often a split reader blocked in `read` looks up: a deadline armed by the writing
/// thread (the close timeout after [`super::Writer::close`], the write-stall timer) cannot
/// shorten a `read` already under way, so reads of a split connection last at most this long.
const WAKE_SLICE: Duration = Duration::from_millis(100);

/// Largest TLS record plaintext (RFC 8446 §5.1): the decryption scratch.
#[cfg(feature = "tls")]
const TLS_PLAINTEXT: usize = 16 << 10;

/// Takes `mutex`, also after a thread panicked while holding it (the driver's state is
/// consistent between calls, and a panic elsewhere must not make this one panic too).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What only non-blocking work touches: the driver and the TLS state.
pub(crate) struct State {
    pub(crate) driver: Driver,
    /// The TLS for `wss://`, for an `https://` proxy, or both nested.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Box<super::tls_layers::TlsLayers>>,
}

/// The socket's read side and its buffers.
pub(crate) struct ReadSide {
    socket: TcpStream,
    /// Bytes as they come off the socket (ciphertext for `wss://`).
    buf: Box<[u8]>,
    /// Decrypted bytes on their way to the driver (`wss://` only; empty otherwise).
    plain: Box<[u8]>,
    /// The read timeout the socket has now, to set it only when it changes.
    timeout: Option<Duration>,
}

/// The socket's write side.
pub(crate) struct WriteSide {
    socket: TcpStream,
    /// The write timeout the socket has (`SO_SNDTIMEO`).
    timeout: Option<Duration>,
    /// Encrypted output on its way to the socket (`wss://` only).
    cipher: Vec<u8>,
}

/// One connection and the locks around it (see the module docs).
pub(crate) struct Shared {
    state: Mutex<State>,
    read: Mutex<ReadSide>,
    write: Mutex<WriteSide>,
    /// Whether the connection was split (a reader then wakes every [`WAKE_SLICE`]).
    split: AtomicBool,
    read_timeout: Option<Duration>,
    /// The subprotocol the opening handshake agreed on: fixed from then on, so kept here
    /// and read without the state lock.
    protocol: Option<String>,
    /// The extensions the opening handshake agreed on (fixed, like `protocol`).
    extensions: Vec<ExtensionOffer>,
    /// The TCP peer (the server, or the proxy when connected through one).
    peer_addr: io::Result<std::net::SocketAddr>,
}

impl Shared {
    /// Shares a connection whose handshake is done over `socket`.
    pub(crate) fn new(state: State, socket: TcpStream, options: &Options) -> io::Result<Self> {
        let write_timeout = options
            .write_timeout
            .map(|t| t.max(Duration::from_millis(1)));
        socket.set_read_timeout(None)?;
        socket.set_write_timeout(write_timeout)?;
        let reader = socket.try_clone()?;
        let peer_addr = socket.peer_addr();
        let protocol = state.driver.connection().protocol().map(str::to_owned);
        let extensions = state.driver.connection().negotiated_extensions().to_vec();
        #[cfg(feature = "tls")]
        let plain = if state.tls.is_some() {
            vec![0; TLS_PLAINTEXT].into_boxed_slice()
        } else {
            Box::default()
        };
        #[cfg(not(feature = "tls"))]
        let plain = Box::default();
        Ok(Shared {
            state: Mutex::new(state),
            read: Mutex::new(ReadSide {
                socket: reader,
                buf: vec![0; READ_SCRATCH].into_boxed_slice(),
                plain,
                timeout: None,
            }),
            write: Mutex::new(WriteSide {
                socket,
                timeout: write_timeout,
                cipher: Vec::new(),
            }),
            split: AtomicBool::new(false),
            read_timeout: options.read_timeout,
            protocol,
            extensions,
            peer_addr,
        })
    }

    /// The TCP peer's address.
    pub(crate) fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        match &self.peer_addr {
            Ok(addr) => Ok(*addr),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        }
    }

    /// The subprotocol the opening handshake agreed on.
    pub(crate) fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions the opening handshake agreed on.
    pub(crate) fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    pub(crate) fn set_split(&self) {
        self.split.store(true, Ordering::Relaxed);
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn read_side(&self) -> MutexGuard<'_, ReadSide> {
        lock(&self.read)
    }

    /// The read side if no other thread is receiving.
    pub(crate) fn try_read_side(&self) -> Option<MutexGuard<'_, ReadSide>> {
        match self.read.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Carries out the driver's steps towards `goal` until it is reached. Receiving goals
    /// need the read side. Fails only with [`Timeout::Read`] (the connection stays usable);
    /// every other error comes as the driver's [`Next::Ended`].
    ///
    /// Why the driver's low-level contract (`poll` and the `handle_*` answers) and not its
    /// typed steps: a typed step borrows the driver until it is answered, so it cannot
    /// outlive the state lock, and this client must let go of that lock while it blocks in
    /// `read` or sleeps (another thread may send meanwhile). Answers are given under the
    /// lock again, after the I/O. The typed steps are built on these very methods (each step
    /// answer calls its `handle_*`), and the pair simulator tests both.
    pub(crate) fn drive(&self, goal: Goal, mut read: Option<&mut ReadSide>) -> Result<Next, Error> {
        let read_deadline = match goal {
            Goal::Message | Goal::Piece | Goal::Event if read.is_some() => {
                self.read_timeout.map(|t| Instant::now() + t)
            }
            _ => None,
        };
        let mut writing: Option<MutexGuard<'_, WriteSide>> = None;
        // This thread's failed write: a sender learns why its message did not go out (the
        // driver keeps the error for the receiving side too).
        let mut failed: Option<io::Error> = None;
        let mut st = lock(&self.state);
        loop {
            match st.driver.poll(goal) {
                Next::Write => {
                    if writing.is_none() {
                        match self.write.try_lock() {
                            Ok(guard) => writing = Some(guard),
                            Err(TryLockError::Poisoned(poisoned)) => {
                                writing = Some(poisoned.into_inner());
                            }
                            Err(TryLockError::WouldBlock) if read.is_some() => {
                                // Another thread is writing and writes this too before it
                                // lets go; go on reading meanwhile (see the module docs).
                                st.driver.handle_write_blocked(Instant::now());
                                continue;
                            }
                            Err(TryLockError::WouldBlock) => {
                                (st, writing) = self.wait_for_write(st);
                                continue;
                            }
                        }
                    }
                    if let Some(w) = writing.as_mut() {
                        st = self.write_out(st, w, &mut failed);
                    }
                }
                // Every write above went out whole: nothing is left to flush.
                Next::Flush => st.driver.handle_flushed(),
                Next::Read => {
                    let Some(r) = read.as_deref_mut() else {
                        // Only receiving goals read, and they come with the read side.
                        return Ok(Next::Ready);
                    };
                    if st.feed_buffered() {
                        continue;
                    }
                    st = self.release_write(st, &mut writing);
                    st = self.read_once(st, r, read_deadline)?;
                }
                // A blocking client runs one connection per caller: nobody else to let run.
                Next::Yield => {}
                Next::Timer(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        st.driver.handle_timeout(now);
                    } else {
                        // The deadline is looked at before every blocking read and wait.
                        st.driver.handle_timer_pending();
                    }
                }
                Next::Wait {
                    write, deadline, ..
                } => {
                    if write {
                        if writing.is_some() {
                            st.driver.handle_writable();
                        } else {
                            (st, writing) = self.wait_for_write(st);
                        }
                        continue;
                    }
                    // Nothing to read or write now: sleep until the next deadline.
                    st = self.release_write(st, &mut writing);
                    let until = earliest(deadline, read_deadline);
                    let nap = until.map_or(WAKE_SLICE, |u| {
                        u.saturating_duration_since(Instant::now()).min(WAKE_SLICE)
                    });
                    drop(st);
                    std::thread::sleep(nap);
                    st = lock(&self.state);
                    fire_due(&mut st);
                    if read_deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(Timeout::Read.into_error());
                    }
                }
                Next::Shutdown { graceful } => {
                    if writing.is_none() {
                        (st, writing) = self.wait_for_write(st);
                    }
                    if let Some(w) = writing.as_mut() {
                        st = self.shutdown(st, w, graceful);
                    }
                    st.driver.handle_shutdown();
                }
                other => {
                    drop(self.release_write(st, &mut writing));
                    if let (Some(e), false) = (failed, goal.receives_from_peer()) {
                        return Err(Error::Io(e));
                    }
                    return Ok(other);
                }
            }
        }
    }

    /// Blocks until this thread may write, holding neither lock while it waits.
    fn wait_for_write<'a>(
        &'a self,
        st: MutexGuard<'a, State>,
    ) -> (MutexGuard<'a, State>, Option<MutexGuard<'a, WriteSide>>) {
        drop(st);
        let writing = lock(&self.write);
        let mut st = lock(&self.state);
        st.driver.handle_writable();
        (st, Some(writing))
    }

    /// Writes all the driver has queued, with the state lock released while it goes out.
    fn write_out<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        w: &mut WriteSide,
        failed: &mut Option<io::Error>,
    ) -> MutexGuard<'a, State> {
        let plain = match st.take_output(&mut w.cipher) {
            Ok(plain) => plain,
            Err(e) => {
                st.driver.handle_io_error(e);
                return st;
            }
        };
        drop(st);
        let written = w.write_all(plain.as_deref());
        let mut st = lock(&self.state);
        if let Err(e) = written {
            *failed = Some(copy_io_error(&e));
            st.driver.handle_io_error(e);
        }
        st
    }

    /// Lets the write side go, after writing what a receiving thread queued while this one
    /// held it. Released while the state lock is held (see the module docs).
    fn release_write<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        writing: &mut Option<MutexGuard<'a, WriteSide>>,
    ) -> MutexGuard<'a, State> {
        while let Some(w) = writing.as_mut() {
            if st.driver.is_ended() || !st.has_output() {
                break;
            }
            st.driver.handle_writable();
            st = self.write_out(st, w, &mut None);
        }
        *writing = None;
        st
    }

    /// One blocking read, without the state lock, bounded by the driver's next deadline, the
    /// read timeout and (split) the wake slice; then feeds what came to the driver.
    fn read_once<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        r: &mut ReadSide,
        read_deadline: Option<Instant>,
    ) -> Result<MutexGuard<'a, State>, Error> {
        let now = Instant::now();
        let mut until = earliest(st.driver.connection().poll_timeout(), read_deadline);
        if self.split.load(Ordering::Relaxed) {
            until = earliest(until, Some(now + WAKE_SLICE));
        }
        let wait = until.map(|u| u.saturating_duration_since(now));
        let result = if wait.is_some_and(|w| w.is_zero()) {
            Err(io::ErrorKind::WouldBlock.into())
        } else {
            drop(st);
            let result = r.read(wait);
            st = lock(&self.state);
            result
        };
        match result {
            Ok(n) => st.feed(&r.buf[..n], &mut r.plain),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                fire_due(&mut st);
                if read_deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Timeout::Read.into_error());
                }
            }
            Err(e) => st.driver.handle_io_error(e),
        }
        Ok(st)
    }
}

impl Shared {
    /// Shuts the socket down: after the close handshake (TLS close_notify, then FIN), or at
    /// once (both directions, which also wakes a thread blocked reading).
    fn shutdown<'a>(
        &'a self,
        st: MutexGuard<'a, State>,
        w: &mut WriteSide,
        graceful: bool,
    ) -> MutexGuard<'a, State> {
        if !graceful {
            let _ = w.socket.shutdown(Shutdown::Both);
            return st;
        }
        w.cipher.clear();
        #[cfg(feature = "tls")]
        let mut st = st;
        #[cfg(feature = "tls")]
        if let Some(tls) = st.tls.as_mut() {
            let _ = tls.close_notify(&mut w.cipher);
        }
        drop(st);
        // A peer that does not read its close_notify only loses that.
        let _ = w.write_all(None);
        let _ = w.socket.shutdown(Shutdown::Write);
        lock(&self.state)
    }
}

impl Drop for Shared {
    /// Every handle is gone: the connection is closed normally (1000) if the socket takes the
    /// close frame at once. Dropping never blocks.
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if st.driver.is_ended() {
            return;
        }
        st.driver.handle_abandoned();
        let w = self.write.get_mut().unwrap_or_else(PoisonError::into_inner);
        if w.socket.set_nonblocking(true).is_ok()
            && let Ok(plain) = st.take_output(&mut w.cipher)
        {
            let bytes = plain.as_deref().unwrap_or(&w.cipher);
            let _ = (&w.socket).write(bytes);
        }
    }
}

impl State {
    /// Whether output waits to be written: frames queued in the driver, or TLS records.
    fn has_output(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls.as_ref().is_some_and(|tls| tls.wants_write()) {
            return true;
        }
        self.driver.connection().queued_output() > 0
    }

    /// Takes the driver's queued output: returned as it is for `ws://`, encrypted into
    /// `cipher` for `wss://` (then `None`).
    fn take_output(&mut self, cipher: &mut Vec<u8>) -> io::Result<Option<Bytes>> {
        let bytes = self.driver.take_transmit(Instant::now());
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_mut() {
            tls.encrypt(&bytes, cipher)?;
            return Ok(None);
        }
        let _ = cipher;
        Ok(Some(bytes))
    }

    /// Hands the driver plaintext rustls decrypted earlier and still holds; whether there
    /// was any (or the end of the stream).
    fn feed_buffered(&mut self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_mut() {
            let driver = &mut self.driver;
            return match tls.feed_buffered(&mut |plain| driver.handle_read_slice(plain)) {
                Ok(any) => any,
                Err(e) => {
                    driver.handle_io_error(e);
                    true
                }
            };
        }
        false
    }

    /// Feeds bytes read from the socket (empty: its end) to the driver, through rustls for
    /// `wss://`.
    fn feed(&mut self, bytes: &[u8], plain: &mut [u8]) {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls.as_mut() {
            let driver = &mut self.driver;
            if let Err(e) = tls.feed(bytes, plain, &mut |plain| driver.handle_read_slice(plain)) {
                driver.handle_io_error(e);
            }
            return;
        }
        let _ = plain;
        self.driver.handle_read_slice(bytes);
    }
}

impl ReadSide {
    /// One blocking read of at most `wait` (`None`: as long as it takes).
    fn read(&mut self, wait: Option<Duration>) -> io::Result<usize> {
        if self.timeout != wait {
            self.socket.set_read_timeout(wait)?;
            self.timeout = wait;
        }
        self.socket.read(&mut self.buf)
    }
}

impl WriteSide {
    /// Writes `plain`, or the encrypted output when it is `None`; a write that blocks past
    /// the write timeout fails with [`Timeout::Write`].
    fn write_all(&mut self, plain: Option<&[u8]>) -> io::Result<()> {
        let mut rest = plain.unwrap_or(&self.cipher);
        let mut result = Ok(());
        while !rest.is_empty() {
            let started = Instant::now();
            match (&self.socket).write(rest) {
                Ok(0) => {
                    result = Err(io::ErrorKind::WriteZero.into());
                    break;
                }
                // A blocking write that ran into its timeout after copying some bytes returns
                // that count rather than an error: the timeout passed all the same.
                Ok(n) if n < rest.len() && self.timeout.is_some_and(|t| started.elapsed() >= t) => {
                    result = Err(Timeout::Write.into_io());
                    break;
                }
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    result = Err(Timeout::Write.into_io());
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if self.cipher.capacity() > 4 * READ_SCRATCH {
            // One large message must not pin its size for the connection's life.
            self.cipher = Vec::new();
        }
        result
    }
}

/// The same error again, for a second party (`io::Error` is not `Clone`); a
/// [`Timeout`] stays recognisable.
fn copy_io_error(e: &io::Error) -> io::Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Timeout>())
    {
        Some(timeout) => timeout.into_io(),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// Whether `goal` reads from the peer (the driver then reports the end's error itself).
trait Receives {
    fn receives_from_peer(self) -> bool;
}

impl Receives for Goal {
    fn receives_from_peer(self) -> bool {
        matches!(
            self,
            Goal::Message | Goal::Event | Goal::Piece | Goal::Closed
        )
    }
}

/// Fires the core's timers if their deadline has passed.
fn fire_due(st: &mut State) {
    let now = Instant::now();
    if st
        .driver
        .connection()
        .poll_timeout()
        .is_some_and(|deadline| now >= deadline)
    {
        st.driver.handle_timeout(now);
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A socket timeout: `WouldBlock` on Unix, `TimedOut` on Windows.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
