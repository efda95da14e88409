//! [`Server`]: listeners, settings and handlers in, loops on threads out.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use mio::Poll;

use ropeway_core::backplane::Backplane;

use super::backplane::Joined;
use super::config::{Config, MAX_LOOPS};
use super::event_loop::{EventLoop, Parts, WAKER};
use super::handle::{Command, Handle};
use super::handler::Handler;

/// An event-loop WebSocket server: [`Config::loops`] loops, each on its own thread with its
/// own `mio::Poll`, serving every connection it accepts to its end.
///
/// The loops share the listening socket (each registers its own duplicate of it) rather than
/// binding one socket each with `SO_REUSEPORT`: the loop that wakes first takes the new
/// connections, so a busy loop takes fewer and load follows capacity; it works the same on
/// every platform mio supports; and no connection is stranded in the backlog of a loop that
/// stopped. The cost is that every idle loop wakes when a connection arrives (a few wasted
/// `accept` calls per connection with N loops on N cores), which is small next to a
/// WebSocket's life.
///
/// ```no_run
/// use ropeway_mio::server::{Config, Server};
/// # #[derive(Clone)] struct Echo;
/// # impl ropeway_mio::server::Handler for Echo {
/// #     type Conn = ();
/// #     fn on_request(&mut self, _: &ropeway_mio::server::Incoming<'_>) -> ropeway_mio::server::Decision<()> { ropeway_mio::server::Decision::accept(()) }
/// #     fn on_message(&mut self, cx: &mut ropeway_mio::server::Context<'_>, id: ropeway_mio::server::ConnId, _: &mut (), m: ropeway_mio::Message) { let _ = cx.send(id, m); }
/// # }
/// let config = Config { loops: 2, ..Config::default() };
/// let server = Server::bind("127.0.0.1:9001", config)?;
/// let handle = server.handle(); // for other threads
/// server.run(Echo)?; // blocks until handle.stop()
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    config: Arc<Config>,
    listeners: Vec<std::net::TcpListener>,
    polls: Vec<Poll>,
    receivers: Vec<Receiver<Command>>,
    handle: Handle,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listeners", &self.listeners)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Listens on `addr` (every address it resolves to).
    pub fn bind(addr: impl ToSocketAddrs, config: Config) -> io::Result<Server> {
        let listeners = addr
            .to_socket_addrs()?
            .map(std::net::TcpListener::bind)
            .collect::<io::Result<Vec<_>>>()?;
        Server::from_listeners(listeners, config)
    }

    /// Serves bound listeners (several: e.g. IPv4 and IPv6 loopback).
    pub fn from_listeners(
        listeners: Vec<std::net::TcpListener>,
        config: Config,
    ) -> io::Result<Server> {
        if listeners.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no listener"));
        }
        let loops = config.loops.clamp(1, MAX_LOOPS);
        for listener in &listeners {
            listener.set_nonblocking(true)?;
        }
        let mut polls = Vec::with_capacity(loops);
        let mut wakers = Vec::with_capacity(loops);
        for _ in 0..loops {
            let poll = Poll::new()?;
            wakers.push(mio::Waker::new(poll.registry(), WAKER)?);
            polls.push(poll);
        }
        let (handle, receivers) = Handle::new(wakers, config.queue_capacity);
        Ok(Server {
            config: Arc::new(Config { loops, ..config }),
            listeners,
            polls,
            receivers,
            handle,
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    /// Serves `https://` and `wss://`: TLS with this rustls configuration, driven from the
    /// loop (no thread or task of its own).
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, config: Arc<rustls::ServerConfig>) -> Server {
        self.tls = Some(config);
        self
    }

    /// Joins the server to a backplane, so that its groups span every server joined to the
    /// same one: [`Context::broadcast`](super::Context::broadcast),
    /// [`Context::broadcast_to`](super::Context::broadcast_to) and their kin (and the
    /// [`Handle`]'s) are published once for the other servers, [`Context::join`](super::Context::join)
    /// and [`Context::leave`](super::Context::leave) tell it which groups have members here,
    /// and connections on other servers are reached by [`GlobalId`](ropeway_core::backplane::GlobalId)
    /// ([`Context::send_to`](super::Context::send_to)).
    ///
    /// The backplane delivers other servers' messages to this server through its handle,
    /// which is the server's [`LocalDelivery`](ropeway_core::backplane::LocalDelivery):
    ///
    /// ```no_run
    /// # #[derive(Clone)] struct Chat;
    /// # impl ropeway_mio::server::Handler for Chat {
    /// #     type Conn = ();
    /// #     fn on_request(&mut self, _: &ropeway_mio::server::Incoming<'_>) -> ropeway_mio::server::Decision<()> { ropeway_mio::server::Decision::accept(()) }
    /// #     fn on_message(&mut self, _: &mut ropeway_mio::server::Context<'_>, _: ropeway_mio::server::ConnId, _: &mut (), _: ropeway_mio::Message) {}
    /// # }
    /// use std::sync::Arc;
    /// use ropeway_mio::server::Server;
    /// use ropeway_redis::{RedisBackplane, RedisOptions};
    ///
    /// let server = Server::bind("127.0.0.1:9001", Default::default())?;
    /// let local = Arc::new(server.handle());
    /// let backplane = RedisBackplane::start("redis://127.0.0.1:6379", RedisOptions::default(), local)?;
    /// server.with_backplane(Arc::new(backplane)).run(Chat)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// The server lets the backplane go when its last loop ends.
    pub fn with_backplane(self, backplane: Arc<dyn Backplane>) -> Server {
        self.handle.attach(Joined(backplane));
        self
    }

    /// The address of the first listener (with port 0, the port the OS chose).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listeners[0].local_addr()
    }

    /// A handle for other threads: send, close, broadcast, stop.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Runs the loops until [`Handle::stop`]: loop 0 on this thread, the others on threads
    /// of their own, each with a clone of `handler`. Returns the first loop's error.
    pub fn run<H>(self, handler: H) -> io::Result<()>
    where
        H: Handler + Clone + Send + 'static,
    {
        let mut parts = self.into_parts(handler)?;
        let first = parts.remove(0);
        let threads = spawn_all(parts)?;
        let result = run_loop(first);
        join_all(threads).and(result)
    }

    /// Runs every loop on a thread of its own and returns at once.
    pub fn spawn<H>(self, handler: H) -> io::Result<Running>
    where
        H: Handler + Clone + Send + 'static,
    {
        let handle = self.handle();
        let threads = spawn_all(self.into_parts(handler)?)?;
        Ok(Running { handle, threads })
    }

    fn into_parts<H: Handler + Clone>(self, handler: H) -> io::Result<Vec<Parts<H>>> {
        let loops = self.polls.len();
        let mut originals = Some(self.listeners);
        let mut parts = Vec::with_capacity(loops);
        for (index, (poll, commands)) in self.polls.into_iter().zip(self.receivers).enumerate() {
            // Every loop but the last gets duplicates of the listeners; the last gets them.
            let listeners = match &originals {
                Some(listeners) if index + 1 < loops => listeners
                    .iter()
                    .map(std::net::TcpListener::try_clone)
                    .collect::<io::Result<Vec<_>>>()?,
                _ => originals.take().unwrap_or_default(),
            };
            parts.push(Parts {
                index: index as u8,
                poll,
                listeners: listeners
                    .into_iter()
                    .map(mio::net::TcpListener::from_std)
                    .collect(),
                handler: handler.clone(),
                commands,
                handle: self.handle.clone(),
                config: self.config.clone(),
                #[cfg(feature = "tls")]
                tls: self.tls.clone(),
            });
        }
        Ok(parts)
    }
}

fn spawn_all<H: Handler + Send + 'static>(
    parts: Vec<Parts<H>>,
) -> io::Result<Vec<JoinHandle<io::Result<()>>>> {
    parts
        .into_iter()
        .map(|part| {
            std::thread::Builder::new()
                .name(format!("ropeway-mio-{}", part.index))
                .spawn(move || run_loop(part))
        })
        .collect()
}

/// Runs one loop to its end, and tells the handle it ended (however it did).
fn run_loop<H: Handler>(part: Parts<H>) -> io::Result<()> {
    let handle = part.handle.clone();
    let result = EventLoop::new(part).and_then(EventLoop::run);
    handle.loop_ended();
    result
}

fn join_all(threads: Vec<JoinHandle<io::Result<()>>>) -> io::Result<()> {
    let mut result = Ok(());
    for thread in threads {
        let outcome = thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("an event loop panicked")));
        result = result.and(outcome);
    }
    result
}

/// Loops running on their own threads, from [`Server::spawn`].
#[derive(Debug)]
pub struct Running {
    handle: Handle,
    threads: Vec<JoinHandle<io::Result<()>>>,
}

impl Running {
    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Stops every loop and waits for their threads.
    pub fn stop(self) -> io::Result<()> {
        self.handle.stop();
        self.join()
    }

    /// Waits for every loop's thread (until someone calls [`Handle::stop`]).
    pub fn join(self) -> io::Result<()> {
        join_all(self.threads)
    }
}
