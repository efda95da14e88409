//! permessage-deflate through the pair simulator: every parameter combination, both roles.

mod support;

use std::sync::Arc;

use ropeway_core::deflate::{DeflateClient, DeflateConfig, DeflateServer};
use ropeway_core::extension::{ClientExtension, ServerExtension};
use ropeway_core::{
    CloseCode, Config, ConnectionError, Event, Limits, MessageKind, ProtocolError, Role,
    SendOptions,
};
use support::{Pair, RandomCuts, messages};

const ROLES: [Role; 2] = [Role::Client, Role::Server];

fn other(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

fn pair(client: DeflateConfig, server: DeflateConfig, config: Config, cut: u64) -> Pair {
    let c: Arc<dyn ClientExtension> = Arc::new(DeflateClient::new(client));
    let s: Arc<dyn ServerExtension> = Arc::new(DeflateServer::new(server));
    Pair::with_extensions(
        config,
        config,
        Box::new(RandomCuts::new(cut, 3000)),
        vec![c],
        vec![s],
    )
}

/// Text-like data that compresses well: a cycle of six words, so well (about 230:1) that
/// long runs of it go past the default inflate ratio; tests of sizes and fragments that use
/// it turn the ratio off with [`unbounded`].
fn text(len: usize) -> Vec<u8> {
    let words = [
        "ropeway ", "deflate ", "context ", "window ", "message ", "frame ",
    ];
    let mut out = Vec::with_capacity(len + 8);
    let mut i = 0usize;
    while out.len() < len {
        out.extend_from_slice(words[(i * 7 + i / 3) % words.len()].as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// `cfg` without the inflate ratio limit.
fn unbounded(cfg: DeflateConfig) -> DeflateConfig {
    DeflateConfig {
        max_inflate_ratio: None,
        ..cfg
    }
}

/// Incompressible data from a xorshift.
fn random(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Sends `payload` from `role` and checks that it arrives intact, compressed (RSV1 on the
/// wire) when `compressed`.
fn round_trip(pair: &mut Pair, role: Role, kind: MessageKind, payload: &[u8], compressed: bool) {
    let now = pair.now;
    pair.side(role).conn.send(kind, payload).unwrap();
    let first = pair.side(role).conn.poll_transmit(now)[0];
    assert_eq!(
        first & 0x40 != 0,
        compressed,
        "RSV1 for {} bytes from {role:?}",
        payload.len()
    );
    pair.transfer();
    let got = messages(&pair.side(other(role)).take_events());
    let error = &pair.side(other(role)).error;
    assert_eq!(
        got.len(),
        1,
        "{role:?} {} bytes, receiver error {error:?}",
        payload.len()
    );
    assert_eq!(got[0].0, kind == MessageKind::Text);
    assert!(
        got[0].1 == payload,
        "{role:?}: {} bytes differ",
        payload.len()
    );
}

#[test]
fn every_parameter_combination_round_trips_both_ways() {
    let mut combos = 0;
    for server_nct in [false, true] {
        for client_nct in [false, true] {
            for server_bits in [8u8, 9, 12, 15] {
                for client_bits in [8u8, 9, 12, 15] {
                    let cfg = DeflateConfig {
                        server_no_context_takeover: server_nct,
                        client_no_context_takeover: client_nct,
                        server_max_window_bits: server_bits,
                        client_max_window_bits: client_bits,
                        ..DeflateConfig::default()
                    };
                    let mut pair = pair(cfg, DeflateConfig::default(), Config::default(), combos);
                    for role in ROLES {
                        let bits = if role == Role::Server {
                            server_bits
                        } else {
                            client_bits
                        };
                        let compresses = bits > 8;
                        for len in [0, 1, 125, 64 << 10] {
                            round_trip(&mut pair, role, MessageKind::Text, &text(len), compresses);
                            round_trip(
                                &mut pair,
                                role,
                                MessageKind::Binary,
                                &random(len),
                                compresses,
                            );
                        }
                        // Repeated messages exercise context takeover (or its reset).
                        for _ in 0..3 {
                            round_trip(&mut pair, role, MessageKind::Text, &text(3000), compresses);
                        }
                    }
                    combos += 1;
                }
            }
        }
    }
    assert_eq!(combos, 64);
}

#[test]
fn sixteen_mebibyte_messages_round_trip() {
    // Incompressible data grows under DEFLATE (16 MiB of random bytes become 16 MiB + 5 KiB),
    // so the frame limit must leave room above the message size.
    let config = Config {
        limits: Limits {
            max_frame_size: 17 << 20,
            max_queued_output: 64 << 20,
            ..Limits::default()
        },
        ..Config::default()
    };
    for cfg in [
        unbounded(DeflateConfig::default()),
        unbounded(DeflateConfig::no_context_takeover()),
    ] {
        let mut pair = pair(cfg, cfg, config, 5);
        for role in ROLES {
            round_trip(&mut pair, role, MessageKind::Text, &text(16 << 20), true);
            round_trip(
                &mut pair,
                role,
                MessageKind::Binary,
                &random(16 << 20),
                true,
            );
        }
    }
}

#[test]
fn fragmented_compressed_messages_and_uncompressed_ones_between() {
    for role in ROLES {
        let mut pair = pair(
            unbounded(DeflateConfig::default()),
            unbounded(DeflateConfig::default()),
            Config::default(),
            9,
        );
        let conn = &mut pair.side(role).conn;
        let parts = [text(1000), text(0), text(70_000), text(5)];
        for (i, part) in parts.iter().enumerate() {
            conn.send_fragment(MessageKind::Text, part, i == parts.len() - 1)
                .unwrap();
        }
        let secret = b"session=4f1c2a; attacker-chosen data next to it";
        conn.send_with(MessageKind::Binary, secret, SendOptions { compress: false })
            .unwrap();
        conn.send(MessageKind::Text, &text(500)).unwrap();
        pair.transfer();
        let got = messages(&pair.side(other(role)).take_events());
        assert_eq!(
            got,
            vec![
                (true, parts.concat()),
                (false, secret.to_vec()),
                (true, text(500))
            ]
        );
    }
}

#[test]
fn a_decompression_bomb_ends_with_1009_at_the_limit() {
    let config = Config {
        limits: Limits {
            max_message_size: 1 << 20,
            ..Limits::default()
        },
        ..Config::default()
    };
    let big = Config {
        limits: Limits {
            max_message_size: 1 << 30,
            max_queued_output: 1 << 30,
            ..Limits::default()
        },
        ..Config::default()
    };
    for role in ROLES {
        let c: Arc<dyn ClientExtension> = Arc::new(DeflateClient::default());
        let s: Arc<dyn ServerExtension> = Arc::new(DeflateServer::default());
        let (client_cfg, server_cfg) = if role == Role::Client {
            (big, config)
        } else {
            (config, big)
        };
        let mut pair = Pair::with_extensions(
            client_cfg,
            server_cfg,
            Box::new(support::Whole),
            vec![c],
            vec![s],
        );
        // 256 MiB of zeros: a few hundred KiB on the wire.
        let zeros = vec![0u8; 256 << 20];
        pair.side(role)
            .conn
            .send(MessageKind::Binary, &zeros)
            .unwrap();
        let wire = pair.side(role).conn.queued_output();
        assert!(wire < 1 << 20, "{wire} bytes on the wire");
        drop(zeros);
        pair.transfer();
        let victim = pair.side(other(role));
        assert_eq!(
            victim.error,
            Some(ConnectionError::Protocol(ProtocolError::MessageTooLarge {
                max: 1 << 20
            }))
        );
        assert!(
            victim.events.is_empty(),
            "nothing of the bomb was handed out"
        );
        // The victim answered with 1009.
        let Some(Event::Close(Some(frame))) = pair.side(role).take_events().pop() else {
            panic!("no close frame");
        };
        assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG);
    }
}

#[test]
fn malformed_offers_connect_uncompressed() {
    // A client whose offer the server cannot honour (asks for a 7-bit window): the server
    // declines, and the connection opens without compression.
    let c: Arc<dyn ClientExtension> = Arc::new(BadOffer);
    let s: Arc<dyn ServerExtension> = Arc::new(DeflateServer::default());
    let mut pair = Pair::with_extensions(
        Config::default(),
        Config::default(),
        Box::new(support::Whole),
        vec![c],
        vec![s],
    );
    assert!(pair.server.conn.extension().is_none());
    assert!(pair.client.conn.extension().is_none());
    round_trip(
        &mut pair,
        Role::Client,
        MessageKind::Text,
        &text(100),
        false,
    );
    round_trip(
        &mut pair,
        Role::Server,
        MessageKind::Text,
        &text(100),
        false,
    );
}

/// Offers permessage-deflate with an invalid parameter.
struct BadOffer;
impl ClientExtension for BadOffer {
    fn name(&self) -> &str {
        "permessage-deflate"
    }
    fn offers(&self) -> Vec<ropeway_core::extension::ExtensionOffer> {
        vec![
            ropeway_core::extension::ExtensionOffer::new("permessage-deflate")
                .param("server_max_window_bits", Some("7".into())),
        ]
    }
    fn accept(
        &self,
        _: &ropeway_core::extension::ExtensionOffer,
    ) -> Result<Box<dyn ropeway_core::extension::Extension>, String> {
        Err("never accepted".into())
    }
}

#[test]
fn control_frames_are_never_compressed() {
    for role in ROLES {
        let mut pair = pair(
            DeflateConfig::default(),
            DeflateConfig::default(),
            Config::default(),
            2,
        );
        let now = pair.now;
        pair.side(role).conn.ping(&text(100)).unwrap();
        assert_eq!(pair.side(role).conn.poll_transmit(now)[0], 0x89);
        pair.transfer();
        assert_eq!(
            pair.side(role).take_events(),
            vec![Event::Pong(text(100).into())]
        );
    }
}

#[test]
fn rsv1_on_a_continuation_frame_is_a_protocol_error() {
    // A server-bound frame sequence: a compressed first fragment, then a continuation with
    // RSV1 set.
    let mut pair = pair(
        DeflateConfig::default(),
        DeflateConfig::default(),
        Config::default(),
        4,
    );
    let bytes = [
        0x41, 0x81, 0, 0, 0, 0, 0xf2, // text, RSV1, not final, 1 byte, mask 0
        0xc0, 0x81, 0, 0, 0, 0, 0x00, // continuation, final, RSV1 (invalid)
    ];
    pair.server.input.extend_from_slice(&bytes);
    pair.server.drain();
    assert_eq!(
        pair.server.error,
        Some(ConnectionError::Protocol(
            ProtocolError::ContinuationReservedBits(0b100)
        ))
    );
}

#[test]
fn rsv1_on_a_continuation_frame_is_named_in_the_close_reason() {
    for role in ROLES {
        let mut pair = pair(
            DeflateConfig::default(),
            DeflateConfig::default(),
            Config::default(),
            4,
        );
        // A compressed first fragment (text, RSV1, not final, 1 byte), then a final
        // continuation with RSV1 set: RFC 7692 §6.1 puts RSV1 on a message's first frame only.
        let bytes: &[u8] = match role {
            Role::Server => &[0x41, 0x81, 0, 0, 0, 0, 0xf2, 0xc0, 0x81, 0, 0, 0, 0, 0x00],
            Role::Client => &[0x41, 0x01, 0xf2, 0xc0, 0x01, 0x00],
        };
        pair.side(role).input.extend_from_slice(bytes);
        pair.side(role).drain();
        assert_eq!(
            pair.side(role).error,
            Some(ConnectionError::Protocol(
                ProtocolError::ContinuationReservedBits(0b100)
            )),
            "{role:?}"
        );
        pair.flow(role);
        let close = pair
            .side(other(role))
            .take_events()
            .into_iter()
            .find_map(|e| match e {
                Event::Close(frame) => frame,
                _ => None,
            })
            .expect("a close frame with a reason");
        assert_eq!(close.code, CloseCode::PROTOCOL_ERROR, "{role:?}");
        assert_eq!(
            close.reason,
            "RSV1 set on a continuation frame: only the first frame of a message carries it",
            "{role:?}"
        );
    }
}

#[test]
fn rsv1_on_a_ping_says_control_frames_are_never_compressed() {
    let mut pair = pair(
        DeflateConfig::default(),
        DeflateConfig::default(),
        Config::default(),
        4,
    );
    // ping, RSV1, empty, mask 0
    pair.server
        .input
        .extend_from_slice(&[0xc9, 0x80, 0, 0, 0, 0]);
    pair.server.drain();
    let error = pair.server.error.clone().expect("a protocol error");
    assert_eq!(
        error,
        ConnectionError::Protocol(ProtocolError::ControlFrameReservedBits(0b100))
    );
    assert!(error.to_string().contains("never compressed"), "{error}");
}
