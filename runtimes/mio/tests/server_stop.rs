//! `Handle::stop()` is a graceful shutdown: every client gets 1001 and a clean close (the
//! loop waits for the close handshakes, so no client reads a reset), idle or busy; the
//! handler's `on_close` sees each client's answer; a client that never answers is cut at
//! the shutdown timeout.

mod server_support;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use ropeway_mio::client;
use ropeway_mio::server::{Closed, Config, ConnId, Context, Decision, Handler, Incoming};
use ropeway_mio::{CloseCode, CloseFrame, Message};
use server_support::{TestServer, client_frame, raw, read_head, upgrade_request};

/// The longest a test may take.
const LIMIT: Duration = Duration::from_secs(30);

/// Echoes on `/ws`, and reports the close frame each connection ended with.
#[derive(Clone)]
struct Recording(mpsc::Sender<Option<CloseFrame>>);

impl Handler for Recording {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        let _ = cx.send(id, message);
    }

    fn on_close(&mut self, _: &mut Context<'_>, _: ConnId, _: (), closed: Closed) {
        let _ = self.0.send(closed.frame);
    }
}

/// How one client's connection ended: the close frame it received, and whether `recv`
/// then said `None` (the close handshake done) or an error.
type Ending = (Option<Message>, Result<(), String>);

/// A client that echoes once, says it is connected, waits for `go`, then receives until the
/// end; `busy` ones send all the while from a second thread, and say so after 100 messages.
fn client(
    url: String,
    busy: bool,
    ready: mpsc::Sender<()>,
    go: Arc<Barrier>,
) -> thread::JoinHandle<Ending> {
    thread::spawn(move || {
        let (mut ws, _) = client::connect(&url).expect("connect");
        ws.send(Message::text("hello")).expect("send");
        assert_eq!(
            ws.recv().expect("echo").expect("ok"),
            Message::text("hello")
        );
        ready.send(()).expect("connected");
        go.wait();
        let (mut reader, writer) = ws.split();
        let sender = busy.then(|| {
            thread::spawn(move || {
                let mut i = 0u64;
                while writer.send(Message::text(format!("busy {i}"))).is_ok() {
                    i += 1;
                    if i == 100 {
                        let _ = ready.send(());
                    }
                }
            })
        });
        let mut close = None;
        let end = loop {
            match reader.recv() {
                Some(Ok(message @ Message::Close(_))) => close = Some(message),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(format!("{e:?}")),
                None => break Ok(()),
            }
        };
        if let Some(sender) = sender {
            sender.join().expect("the sender");
        }
        (close, end)
    })
}

/// Starts `clients` clients, stops the server once all are ready, and returns how each
/// ended and what the handler saw.
fn stop_with_clients(clients: usize, busy: bool) -> (Vec<Ending>, Vec<Option<CloseFrame>>) {
    let (seen_tx, seen) = mpsc::channel();
    let server = TestServer::start(Config::default(), Recording(seen_tx));
    let (ready_tx, ready) = mpsc::channel();
    let go = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| client(server.url("/ws"), busy, ready_tx.clone(), go.clone()))
        .collect();
    for _ in 0..clients {
        ready.recv_timeout(LIMIT).expect("every client connected");
    }
    // Busy clients start sending together once all are connected (connecting while others
    // flood the one loop is slow on a loaded machine), and each says when it is busy.
    go.wait();
    if busy {
        for _ in 0..clients {
            ready.recv_timeout(LIMIT).expect("every client busy");
        }
    }
    server.stop().expect("the loop ended cleanly");
    let endings = threads
        .into_iter()
        .map(|t| t.join().expect("a client"))
        .collect();
    let frames = seen.try_iter().collect();
    (endings, frames)
}

fn assert_every_close_was_clean(endings: &[Ending], frames: &[Option<CloseFrame>]) {
    let going_away = Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "going away")));
    let unclean: Vec<_> = endings
        .iter()
        .filter(|(close, end)| close.as_ref() != Some(&going_away) || end.is_err())
        .collect();
    assert!(
        unclean.is_empty(),
        "{} of {} closes unclean, e.g. {:?}",
        unclean.len(),
        endings.len(),
        &unclean[..unclean.len().min(3)]
    );
    // The handler was told: each connection ended with the client's answer to the 1001.
    assert_eq!(frames.len(), endings.len());
    assert!(
        frames
            .iter()
            .all(|f| f.as_ref().map(|f| f.code) == Some(CloseCode::GOING_AWAY)),
        "{frames:?}"
    );
}

/// Runs `body` on a thread; fails the test past [`LIMIT`].
fn bounded(body: impl FnOnce() + Send + 'static) {
    let (done, wait) = mpsc::channel();
    let thread = thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match wait.recv_timeout(LIMIT) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test took longer than {LIMIT:?}"),
    }
}

#[test]
fn stop_closes_60_idle_blocking_clients_with_1001_and_none_is_reset() {
    bounded(|| {
        let (endings, frames) = stop_with_clients(60, false);
        assert_every_close_was_clean(&endings, &frames);
    });
}

#[test]
fn stop_closes_30_busy_blocking_clients_with_1001_and_none_is_reset() {
    bounded(|| {
        let (endings, frames) = stop_with_clients(30, true);
        assert_every_close_was_clean(&endings, &frames);
    });
}

#[test]
fn stop_cuts_a_client_that_never_answers_at_the_shutdown_timeout() {
    bounded(|| {
        let timeout = Duration::from_millis(300);
        let config = Config {
            shutdown_timeout: timeout,
            ..Config::default()
        };
        let (seen_tx, seen) = mpsc::channel();
        let server = TestServer::start(config, Recording(seen_tx));
        let addr: SocketAddr = server.addr;
        let mut tcp = raw(addr);
        std::io::Write::write_all(&mut tcp, upgrade_request("/ws", "").as_bytes()).expect("send");
        assert!(read_head(&mut tcp).starts_with("HTTP/1.1 101"));
        // One echo: the connection is open in the loop.
        std::io::Write::write_all(&mut tcp, &client_frame(0x1, true, b"hi")).expect("send");
        let mut echo = [0u8; 4];
        tcp.read_exact(&mut echo).expect("echo");
        assert_eq!(&echo, b"\x81\x02hi");
        let start = Instant::now();
        server.stop().expect("the loop ended cleanly");
        let elapsed = start.elapsed();
        // The shutdown timeout, not the 5 s close timeout, ended it.
        assert!(elapsed >= timeout, "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        let mut rest = Vec::new();
        let _ = tcp.read_to_end(&mut rest);
        assert_eq!(
            &rest[..4],
            b"\x88\x0c\x03\xe9",
            "the 1001 close frame: {rest:?}"
        );
        assert_eq!(
            seen.try_iter().collect::<Vec<_>>(),
            [None],
            "no answer came"
        );
    });
}
