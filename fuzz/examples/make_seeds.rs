//! Writes the seed inputs in `fuzz/seeds/<target>/`: valid exchanges the fuzzer starts from,
//! so it needs not guess a masked frame, a compressed message or a `Sec-WebSocket-Accept`.
//!
//! ```text
//! cd fuzz && cargo run --example make_seeds
//! ```

use std::path::Path;
use std::sync::Arc;

use std::time::{Duration, Instant};

use ropeway_core::deflate::{DeflateClient, DeflateServer};
use ropeway_core::extension::{ClientExtension, ServerExtension};
use ropeway_core::handshake::{
    Accept, ClientHandshake, ClientRequest, RequestReader, UpgradeRequest, write_response,
};
use ropeway_core::{BytesMut, CloseCode, CloseFrame, Config, Connection, Limits, MessageKind};
use ropeway_core::{Role, SeededEntropy};
use ropeway_fuzz::handshake::client_handshake;
use ropeway_fuzz::script::{Op, Script};
use ropeway_fuzz::setup::{Flags, deflate_config, pair};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for role in [Role::Server, Role::Client] {
        let dir = root.join(match role {
            Role::Server => "connection_server",
            Role::Client => "connection_client",
        });
        std::fs::create_dir_all(&dir).unwrap();
        // Plain, deflate, deflate without context takeover at 9 and 8 bits, echo, tight
        // limits, no keep-alive timeout.
        for flags in [0x00u8, 0x01, 0x17, 0x1f, 0x41, 0x61, 0x20, 0x81] {
            for (name, frames) in conversations(role, flags) {
                let choices = choices_for(&name);
                let seed = Script::encode(flags, &frames, &choices);
                std::fs::write(dir.join(format!("{name}-{flags:02x}")), seed).unwrap();
            }
        }
    }
    request_seeds(&root.join("handshake_request"));
    response_seeds(&root.join("handshake_response"));
}

/// A few cut patterns, so the seeds already exercise both decoders and the other steps.
fn choices_for(name: &str) -> Vec<u8> {
    let feed = |len, partial| Op::Feed { len, partial }.encode().unwrap();
    match name {
        "messages" => vec![feed(1, false), feed(3, true), feed(7, false)],
        "fragments" => vec![
            feed(2, true),
            Op::Buffer { len: 5 }.encode().unwrap(),
            feed(1, false),
            Op::Write {
                max: usize::MAX,
                vectored: false,
            }
            .encode()
            .unwrap(),
            Op::Blocked.encode().unwrap(),
        ],
        "close" => vec![
            Op::Wait(Duration::from_secs(120)).encode().unwrap(),
            Op::TakeAll.encode().unwrap(),
        ],
        _ => Vec::new(),
    }
}

/// One conversation: what the peer does on its connection.
type Act<'a> = dyn Fn(&mut Connection) + 'a;

/// What the peer of `role` sends, as named conversations.
fn conversations(role: Role, flags: u8) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // Compressed (deflate on, a window over 8 bits), a large message is small on the wire
    // and inflates past a 64 KiB piece; uncompressed it is kept small.
    let large = if flags & 1 != 0 && (flags >> 3) & 3 != 3 {
        70_000
    } else {
        3_000
    };
    let script: [(&str, &Act<'_>); 4] = [
        ("messages", &|c| {
            c.send(MessageKind::Text, "Hello, ropeway! ".repeat(4).as_bytes())
                .unwrap();
            c.send(MessageKind::Binary, &[0, 1, 2, 3, 255]).unwrap();
            c.send(MessageKind::Text, "Hello, ropeway! ".repeat(4).as_bytes())
                .unwrap();
        }),
        ("fragments", &|c| {
            c.send_fragment(MessageKind::Text, "héllo ".as_bytes(), false)
                .unwrap();
            c.ping(b"are you there").unwrap();
            c.send_fragment(MessageKind::Text, "wörld".as_bytes(), true)
                .unwrap();
        }),
        ("close", &|c| {
            c.send(MessageKind::Binary, &[7; 300]).unwrap();
            c.pong(b"unsolicited").unwrap();
            c.close(Some(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "done".to_owned(),
            }))
            .unwrap();
        }),
        ("large", &|c| {
            c.send(MessageKind::Binary, &vec![b'x'; large]).unwrap();
        }),
    ];
    for (name, act) in script {
        let pair = pair(&Flags::from_byte(flags));
        // The peer of the fuzzed end produces the bytes.
        let mut peer = match role {
            Role::Server => pair.client,
            Role::Client => pair.server,
        };
        act(&mut peer);
        let bytes = peer.take_transmit(pair.now).to_vec();
        out.push((name.to_owned(), bytes));
    }
    out
}

fn request_seeds(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut entropy = SeededEntropy::from_seed([1; 32]);
    for (name, flags, offers) in [
        ("plain", 0x00u8, Vec::new()),
        ("deflate", 0x00, vec![deflate_config(0)]),
        (
            "deflate-small",
            0x0f,
            vec![deflate_config(0x0f), deflate_config(0)],
        ),
    ] {
        let extensions: Vec<Arc<dyn ClientExtension>> = if offers.is_empty() {
            Vec::new()
        } else {
            vec![Arc::new(DeflateClient { offers })]
        };
        let request = ClientRequest::from_url("ws://example.com:8080/chat?room=1")
            .unwrap()
            .protocol("chat")
            .header(
                "origin".parse().unwrap(),
                "http://example.com".parse().unwrap(),
            );
        let mut out = BytesMut::new();
        ClientHandshake::new(
            &request,
            extensions,
            &mut entropy,
            &Limits::DEFAULT,
            &mut out,
        );
        out.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]);
        let seed = Script::encode(flags, &out, &[9, 0, 40]);
        std::fs::write(dir.join(name), seed).unwrap();
    }
    let raw: &[(&str, &[u8])] = &[
        ("not-websocket", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        (
            "old-version",
            b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        ),
        (
            "quoted-params",
            b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=\"10\", x-foo; a=b\r\nSec-WebSocket-Protocol: a, b\r\n\r\n",
        ),
    ];
    for (name, bytes) in raw {
        std::fs::write(dir.join(name), Script::encode(0, bytes, &[])).unwrap();
    }
}

fn response_seeds(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    // The responses a real server gives to `client_handshake(flags)`, then two frames.
    for flags in [0x00u8, 0x80, 0xa1, 0x8f, 0xc0, 0x10] {
        let mut request = BytesMut::new();
        client_handshake(flags, &Limits::DEFAULT, &mut request);
        let head = RequestReader::new(&Limits::DEFAULT)
            .recv(&mut request)
            .unwrap()
            .unwrap();
        let upgrade = UpgradeRequest::from_request(head).unwrap();
        let server: Vec<Arc<dyn ServerExtension>> =
            vec![Arc::new(DeflateServer::new(deflate_config(flags)))];
        let mut accept = Accept::default();
        let now = Instant::now();
        let mut server_conn = Connection::server(Config::default(), now);
        if let Some((answer, codec)) = upgrade.negotiate(&server).filter(|_| flags != 0) {
            accept.extensions.push(answer);
            server_conn = server_conn.with_extension(codec);
        }
        accept.protocol = upgrade.select_protocol(&["superchat"]).map(str::to_owned);
        let mut out = BytesMut::new();
        write_response(&upgrade.accept(&accept), &[], &mut out);
        server_conn
            .send(MessageKind::Text, b"welcome welcome welcome")
            .unwrap();
        server_conn.ping(b"").unwrap();
        out.extend_from_slice(&server_conn.take_transmit(now));
        let seed = Script::encode(flags, &out, &[20, 1, 150]);
        std::fs::write(dir.join(format!("accepted-{flags:02x}")), seed).unwrap();
    }
    let raw: &[(&str, &[u8])] = &[
        (
            "rejected",
            b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nno!",
        ),
        (
            "wrong-accept",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n\r\n",
        ),
    ];
    for (name, bytes) in raw {
        std::fs::write(dir.join(name), Script::encode(0, bytes, &[])).unwrap();
    }
}
