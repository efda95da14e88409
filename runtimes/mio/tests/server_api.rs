//! What the event-loop server's handler can read of a connection by id: the subprotocol and
//! the extensions its opening handshake agreed on.

mod server_support;

use std::sync::{Arc, Mutex};

use ropeway_core::deflate::{DeflateClient, DeflateConfig, DeflateServer};
use ropeway_mio::Message;
use ropeway_mio::client::{self, ClientConfig, ClientRequest};
use ropeway_mio::server::{
    Closed, Config, ConnId, Context, Decision, Delivery, Handler, Incoming, PieceRef,
};
use server_support::TestServer;

/// What the handler saw, one line per callback.
type Seen = Arc<Mutex<Vec<String>>>;

/// Chooses `chat.v2` or `chat.v1` among the client's offers; records what `Context` says
/// of the connection in `on_open`, `on_message` and (after the end) `on_close`, and
/// answers each message with what it saw.
#[derive(Clone, Default)]
struct Recorder {
    seen: Seen,
}

fn describe(cx: &Context<'_>, id: ConnId) -> String {
    let extensions: Vec<String> = cx.extensions(id).iter().map(ToString::to_string).collect();
    format!("{:?} {extensions:?}", cx.protocol(id))
}

impl Handler for Recorder {
    type Conn = ();

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<()> {
        let upgrade = request.upgrade();
        let chosen = upgrade
            .as_ref()
            .ok()
            .and_then(|u| u.select_protocol(&["chat.v2", "chat.v1"]));
        match chosen {
            Some(protocol) => Decision::accept_protocol(protocol, ()),
            None => Decision::accept(()),
        }
    }

    fn on_open(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut ()) {
        let line = format!("open {}", describe(cx, id));
        self.seen.lock().unwrap().push(line);
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), _: Message) {
        let line = describe(cx, id);
        self.seen.lock().unwrap().push(format!("message {line}"));
        let _ = cx.send(id, Message::text(line));
    }

    fn on_close(&mut self, cx: &mut Context<'_>, id: ConnId, _: (), _: Closed) {
        // The connection is gone: its id names nothing any more.
        let line = format!("close {}", describe(cx, id));
        self.seen.lock().unwrap().push(line);
    }
}

fn deflate_server_config() -> Config {
    let mut config = Config::default();
    let deflate = DeflateConfig {
        server_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    config
        .websocket
        .extensions
        .push(Arc::new(DeflateServer::new(deflate)));
    config
}

/// Both sides of one exchange, and the lines the handler recorded once the server stopped.
fn exchange(
    server: TestServer,
    seen: &Seen,
    request: ClientRequest,
    config: &ClientConfig,
) -> (String, Vec<String>) {
    let (mut ws, _) = client::connect_with(request, config, Default::default()).expect("connect");
    ws.send(Message::text("what did we agree on?"))
        .expect("send");
    let answer = ws.recv().expect("an answer").expect("ok");
    let answer = answer.as_text().expect("text").to_owned();
    ws.close(None).expect("close");
    server.stop().expect("the loop ended cleanly");
    let lines = seen.lock().unwrap().clone();
    (answer, lines)
}

/// The client offers chat.v1 and permessage-deflate; the handler chose chat.v1 and the
/// server's deflate accepted the offer. `Context::protocol` and `Context::extensions` say
/// so for the connection's id from `on_open` on, and nothing once it ended.
#[test]
fn the_handler_sees_the_agreed_protocol_and_extensions_by_id() {
    let handler = Recorder::default();
    let seen = handler.seen.clone();
    let server = TestServer::start(deflate_server_config(), handler);
    let request = ClientRequest::from_url(&server.url("/"))
        .unwrap()
        .protocol("chat.v1");
    let config = ClientConfig {
        extensions: vec![Arc::new(DeflateClient::new(DeflateConfig::default()))],
        ..ClientConfig::default()
    };
    let (answer, lines) = exchange(server, &seen, request, &config);
    let agreed = r#"Some("chat.v1") ["permessage-deflate; server_no_context_takeover"]"#;
    assert_eq!(answer, agreed);
    assert_eq!(
        lines,
        [
            format!("open {agreed}"),
            format!("message {agreed}"),
            "close None []".to_owned(),
        ]
    );
}

/// A client that offers neither: `None` and no extensions, though the server would have
/// agreed to both.
#[test]
fn the_handler_sees_nothing_agreed_when_nothing_was_offered() {
    let handler = Recorder::default();
    let seen = handler.seen.clone();
    let server = TestServer::start(deflate_server_config(), handler);
    let request = ClientRequest::from_url(&server.url("/")).unwrap();
    let (answer, lines) = exchange(server, &seen, request, &ClientConfig::default());
    assert_eq!(answer, "None []");
    assert_eq!(lines, ["open None []", "message None []", "close None []"]);
}

/// Echoes each piece as it arrives as a fragment of one answer; records what a whole
/// message sent in the middle of that answer gets.
#[derive(Clone, Default)]
struct FragmentEcho {
    mid_message_send: Arc<Mutex<Vec<String>>>,
}

impl Handler for FragmentEcho {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_piece(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), piece: PieceRef<'_>) {
        cx.send_fragment(id, piece.kind, piece.data, piece.end)
            .expect("a fragment queued");
        if !piece.end {
            let refused = cx.send(id, Message::text("not now"));
            self.mid_message_send
                .lock()
                .unwrap()
                .push(format!("{refused:?}"));
        }
    }

    fn on_message(&mut self, _: &mut Context<'_>, _: ConnId, _: &mut (), _: Message) {}
}

/// A 300 KB message streams through the loop in pieces of at most 4 KiB, each sent straight
/// back as a fragment: the client gets one message with the same bytes. A whole message
/// sent while the answer is unfinished is refused as invalid, and the answer stays intact.
#[test]
fn send_fragment_streams_a_message_back_piece_by_piece() {
    let handler = FragmentEcho::default();
    let refused = handler.mid_message_send.clone();
    let config = Config {
        delivery: Delivery::Pieces(4096),
        ..Config::default()
    };
    let server = TestServer::start(config, handler);
    let (mut ws, _) = client::connect(&server.url("/")).expect("connect");
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(payload.clone())).expect("send");
    let echoed = ws.recv().expect("the answer").expect("ok");
    assert_eq!(echoed, Message::binary(payload));
    ws.close(None).expect("close");
    server.stop().expect("the loop ended cleanly");
    let refused = refused.lock().unwrap();
    assert!(refused.len() >= 300_000 / 4096, "{}", refused.len());
    assert!(
        refused.iter().all(|r| r.starts_with("Err(Invalid(")),
        "{refused:?}"
    );
}
