//! One connection cannot starve the others (issue #21, item 2). A peer that floods tiny
//! frames without reading fills every read, so its connection never waits on its own: on
//! smol (no cooperative budget) the server's one executor thread served it alone, and a
//! normal client waited 0.45–5.7 s per echo. The driver's work budget (`Yield`) makes every
//! runtime let others run; this case checks it end to end.

use std::future::{Future, poll_fn};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use crate::prelude::*;
use ropeway_core::Message;

/// How long the flood lasts: longer than the echoes may take.
const FLOOD: Duration = Duration::from_secs(6);

/// Opens `/ws` from a plain blocking socket and writes masked pongs for [`FLOOD`], reading
/// nothing after the 101.
fn flood_pongs(addr: SocketAddr) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut tcp = TcpStream::connect(addr).expect("connect");
        tcp.write_all(upgrade_request("/ws", "").as_bytes())
            .expect("upgrade");
        let mut head = Vec::new();
        let mut byte = [0; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tcp.read_exact(&mut byte).expect("101 head");
            head.push(byte[0]);
        }
        let pong = client_frame(op::PONG, true, b"p");
        let burst = pong.repeat((64 << 10) / pong.len());
        let start = Instant::now();
        let mut sent = 0;
        while start.elapsed() < FLOOD {
            match tcp.write_all(&burst) {
                Ok(()) => sent += burst.len() as u64,
                Err(_) => break,
            }
        }
        sent
    })
}

/// Serves the first two connections on `listener` from ONE task, polling the first (the
/// flooder) first: if its echo loop never returned `Pending`, the second would never run,
/// whatever the executor's thread count.
async fn serve_two_in_one_task<T: TestRuntime>(listener: T::Listener) {
    let mut accepted = Vec::new();
    for _ in 0..2 {
        let tcp = T::accept_tcp(&listener).await.expect("accept");
        let _ = T::set_nodelay(&tcp);
        accepted.push(T::accept(tcp).await.expect("handshake"));
    }
    let (Some(normal), Some(flooder)) = (accepted.pop(), accepted.pop()) else {
        return;
    };
    let mut flooder = pin!(echo(flooder));
    let mut normal = pin!(echo(normal));
    let (mut flooder_done, mut normal_done) = (false, false);
    poll_fn(|cx| {
        if !flooder_done {
            flooder_done = flooder.as_mut().poll(cx).is_ready();
        }
        if !normal_done {
            normal_done = normal.as_mut().poll(cx).is_ready();
        }
        if flooder_done && normal_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

pub async fn a_peer_flooding_pongs_does_not_starve_another_connection<T: TestRuntime>() {
    let (listener, addr) = listen::<T>().await;
    T::detach(serve_two_in_one_task::<T>(listener));
    let flooder = flood_pongs(addr);
    // Let the flood start before the normal client comes.
    T::sleep(Duration::from_millis(300)).await;
    let mut ws = connect::<T>(addr, "/").await;
    let start = Instant::now();
    for i in 0..20 {
        let text = format!("echo {i}");
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(recv(&mut ws).await, Message::text(text));
    }
    let elapsed = start.elapsed();
    // Starved, the echoes waited for the flood to end (6 s); served fairly they take
    // milliseconds. The bound is loose for a loaded machine.
    assert!(
        elapsed < Duration::from_secs(3),
        "20 echoes took {elapsed:?} while another connection flooded pongs"
    );
    let sent = flooder.join().expect("flooder");
    assert!(sent > 0, "the flood sent nothing");
}
