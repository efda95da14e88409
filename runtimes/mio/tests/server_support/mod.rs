//! What the event-loop server's tests share: a server on an ephemeral loopback port run on
//! its own threads and stopped when the guard drops, an echo handler, raw HTTP helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ropeway_mio::Message;
use ropeway_mio::server::{
    Closed, Config, ConnId, Context, Decision, Handle, Handler, Incoming, Running, Server,
};

/// A running server, stopped (and its threads joined) on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: Handle,
    running: Option<Running>,
}

impl TestServer {
    pub fn start<H: Handler + Clone + Send + 'static>(config: Config, handler: H) -> TestServer {
        let server = Server::bind("127.0.0.1:0", config).expect("bind");
        let addr = server.local_addr().expect("addr");
        let running = server.spawn(handler).expect("spawn");
        TestServer {
            addr,
            handle: running.handle(),
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Stops the loops and reports how they ended.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.running.take().map_or(Ok(()), Running::stop)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop();
        }
    }
}

/// Echoes data messages on `/ws`; serves a page on `/`; 404 elsewhere.
#[derive(Clone, Default)]
pub struct Echo;

impl Handler for Echo {
    type Conn = ();

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<()> {
        match request.path() {
            "/ws" => Decision::accept(()),
            "/" => {
                let response = http::Response::builder()
                    .header("content-type", "text/html")
                    .body(())
                    .expect("a response");
                Decision::Respond(response, "<h1>page</h1>".into())
            }
            _ => Decision::Reject(http::StatusCode::NOT_FOUND),
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        let _ = cx.send(id, message);
    }

    fn on_close(&mut self, _: &mut Context<'_>, _: ConnId, _: (), _: Closed) {}
}

/// A raw TCP connection with a read timeout (a test never hangs).
pub fn raw(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    tcp
}

/// Sends `request` and reads the answer until the server closes.
pub fn http_exchange(addr: SocketAddr, request: &str) -> String {
    let mut tcp = raw(addr);
    tcp.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// A valid upgrade request for `path` with extra header lines.
pub fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A masked client frame (mask key 0: the payload goes as is).
pub fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![if fin { 0x80 } else { 0 } | opcode];
    let len = payload.len();
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else if len <= 0xffff {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// Reads the HTTP answer head from `tcp` (up to the blank line).
pub fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}
