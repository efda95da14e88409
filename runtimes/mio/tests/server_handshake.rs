//! The event-loop server's HTTP answers: subprotocols, 400/403/426/431, the handshake
//! timeout, frames arriving with the request, a request arriving byte by byte.

mod server_support;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ropeway_core::ServerConfig;
use ropeway_mio::Message;
use ropeway_mio::client::{self, ClientRequest};
use ropeway_mio::server::{Config, ConnId, Context, Decision, Handler, Incoming};
use server_support::{
    Echo, TestServer, client_frame, http_exchange, raw, read_head, upgrade_request,
};

/// The `x-extra` header and the origin of each request the handler saw.
type SeenRequests = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// Accepts the first of its subprotocols the client offers; records the requests it saw.
#[derive(Clone, Default)]
struct Chooser {
    seen: SeenRequests,
}

impl Handler for Chooser {
    type Conn = ();

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<()> {
        let extra = request
            .headers()
            .get("x-extra")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let upgrade = request.upgrade();
        let chosen = upgrade
            .as_ref()
            .ok()
            .and_then(|u| u.select_protocol(&["chat.v2", "chat.v1"]))
            .map(str::to_owned);
        self.seen
            .lock()
            .expect("lock")
            .push((extra, request.origin().map(str::to_owned)));
        match chosen {
            Some(protocol) => Decision::accept_protocol(&protocol, ()),
            None => Decision::accept(()),
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        let _ = cx.send(id, message);
    }
}

#[test]
fn server_chooses_a_subprotocol_and_sees_the_clients_extra_header() {
    let handler = Chooser::default();
    let server = TestServer::start(Config::default(), handler.clone());
    let request = ClientRequest::from_url(&server.url("/ws"))
        .expect("request")
        .protocol("chat.v1")
        .protocol("chat.v2")
        .header(
            http::HeaderName::from_static("x-extra"),
            http::HeaderValue::from_static("hello"),
        );
    let (mut ws, response) =
        client::connect_with(request, &Default::default(), Default::default()).expect("connect");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.as_bytes()),
        // The client's order of preference wins among the protocols the server supports.
        Some(&b"chat.v1"[..])
    );
    ws.send(Message::text("x")).expect("send");
    assert_eq!(ws.recv().expect("echo").expect("ok"), Message::text("x"));
    let seen = handler.seen.lock().expect("lock").clone();
    assert_eq!(seen, vec![(Some("hello".to_owned()), None)]);
}

#[test]
fn a_subprotocol_the_client_did_not_offer_is_refused_not_accepted() {
    #[derive(Clone)]
    struct Wrong;
    impl Handler for Wrong {
        type Conn = ();
        fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
            Decision::accept_protocol("never.offered", ())
        }
        fn on_message(&mut self, _: &mut Context<'_>, _: ConnId, _: &mut (), _: Message) {}
    }
    let server = TestServer::start(Config::default(), Wrong);
    let answer = http_exchange(server.addr, &upgrade_request("/ws", ""));
    // The application's mistake, not the client's: a server error, and no 101.
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
}

#[test]
fn a_plain_get_on_the_websocket_route_is_answered_with_400() {
    let server = TestServer::start(Config::default(), Echo);
    let answer = http_exchange(server.addr, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

#[test]
fn a_wrong_websocket_version_is_answered_with_426_naming_version_13() {
    let server = TestServer::start(Config::default(), Echo);
    let request = upgrade_request("/ws", "").replace("Version: 13", "Version: 8");
    let answer = http_exchange(server.addr, &request);
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{answer}"
    );
}

#[test]
fn a_request_without_a_key_is_answered_with_400() {
    let server = TestServer::start(Config::default(), Echo);
    let request =
        upgrade_request("/ws", "").replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
    let answer = http_exchange(server.addr, &request);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

#[test]
fn a_forbidden_origin_gets_403_and_never_reaches_the_application() {
    let handler = Chooser::default();
    let config = Config {
        websocket: ServerConfig {
            allowed_origins: vec!["https://good.example".into()],
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let server = TestServer::start(config, handler.clone());
    let bad = http_exchange(
        server.addr,
        &upgrade_request("/ws", "Origin: https://evil.example\r\n"),
    );
    assert!(bad.starts_with("HTTP/1.1 403"), "{bad}");
    let good = {
        let mut tcp = raw(server.addr);
        tcp.write_all(upgrade_request("/ws", "Origin: https://good.example\r\n").as_bytes())
            .expect("write");
        read_head(&mut tcp)
    };
    assert!(good.starts_with("HTTP/1.1 101"), "{good}");
    let seen = handler.seen.lock().expect("lock").clone();
    assert_eq!(seen, vec![(None, Some("https://good.example".to_owned()))]);
}

#[test]
fn an_oversized_request_head_is_answered_with_431() {
    let server = TestServer::start(Config::default(), Echo);
    let big = format!("X-Big: {}\r\n", "a".repeat(16 << 10));
    let answer = http_exchange(server.addr, &upgrade_request("/ws", &big));
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}

#[test]
fn a_stalled_request_head_times_out_within_the_handshake_timeout() {
    let config = Config {
        websocket: ServerConfig {
            handshake_timeout: Duration::from_millis(300),
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let server = TestServer::start(config, Echo);
    let mut tcp = raw(server.addr);
    tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let started = Instant::now();
    let mut rest = Vec::new();
    // The server drops the connection: the read ends (EOF or reset), well before 10 s.
    let _ = tcp.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(rest.is_empty());
}

#[test]
fn frames_sent_with_the_request_are_not_lost() {
    let server = TestServer::start(Config::default(), Echo);
    let mut tcp = raw(server.addr);
    let mut bytes = upgrade_request("/ws", "").into_bytes();
    bytes.extend(client_frame(0x1, true, b"early"));
    tcp.write_all(&bytes).expect("write");
    let head = read_head(&mut tcp);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut frame = [0u8; 7];
    tcp.read_exact(&mut frame).expect("the echo");
    assert_eq!(&frame, b"\x81\x05early");
}

#[test]
fn the_server_accepts_a_request_arriving_byte_by_byte() {
    let server = TestServer::start(Config::default(), Echo);
    let mut tcp = raw(server.addr);
    tcp.set_nodelay(true).expect("nodelay");
    for byte in upgrade_request("/ws", "").bytes() {
        tcp.write_all(&[byte]).expect("write");
    }
    let head = read_head(&mut tcp);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}
