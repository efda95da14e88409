//! Properties: every way of cutting the byte stream yields the same events, and no input
//! makes the core panic.

mod support;

use std::time::Instant;

use proptest::prelude::*;
use ropeway_core::{BytesMut, CloseFrame, Config, Connection, Event, MessageKind, SeededEntropy};

/// What a sender does, encoded by a real core.
#[derive(Clone, Debug)]
enum Action {
    Message(bool, Vec<u8>),
    Fragmented(bool, Vec<Vec<u8>>),
    Ping(Vec<u8>),
    Close(u16),
}

fn action() -> impl Strategy<Value = Action> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..300);
    let text = || "\\PC{0,100}".prop_map(String::into_bytes);
    prop_oneof![
        4 => bytes().prop_map(|b| Action::Message(false, b)),
        4 => text().prop_map(|b| Action::Message(true, b)),
        2 => (any::<bool>(), prop::collection::vec(text(), 1..5)).prop_map(|(t, parts)| Action::Fragmented(t, parts)),
        1 => prop::collection::vec(any::<u8>(), 0..125).prop_map(Action::Ping),
        1 => prop_oneof![Just(1000u16), Just(4000u16)].prop_map(Action::Close),
    ]
}

/// The bytes a sender of the opposite role writes for `actions`.
fn encode(client_sends: bool, actions: &[Action]) -> Vec<u8> {
    let now = Instant::now();
    let mut sender = if client_sends {
        Connection::client(
            Config::default(),
            Box::new(SeededEntropy::from_seed([3; 32])),
            now,
        )
    } else {
        Connection::server(Config::default(), now)
    };
    for action in actions {
        let _ = match action {
            Action::Message(text, b) => {
                let kind = if *text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                sender.send(kind, b)
            }
            Action::Fragmented(text, parts) => {
                let kind = if *text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                let last = parts.len() - 1;
                parts
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, p)| sender.send_fragment(kind, p, i == last))
            }
            Action::Ping(p) => sender.ping(p),
            Action::Close(code) => sender.close(Some(CloseFrame::new(*code, "done"))),
        };
    }
    sender.poll_transmit(now).to_vec()
}

/// Decodes `bytes` fed in pieces of the given sizes; data pieces are joined per message so
/// that partial delivery can be compared with whole delivery.
fn decode(server: bool, bytes: &[u8], cuts: &[usize], partial: bool) -> Vec<String> {
    let now = Instant::now();
    let mut conn = if server {
        Connection::server(Config::default(), now)
    } else {
        Connection::client(
            Config::default(),
            Box::new(SeededEntropy::from_seed([4; 32])),
            now,
        )
    };
    let mut input = BytesMut::new();
    let mut out = Vec::new();
    let mut message = Vec::new();
    let mut chunker = support::Cuts(cuts.to_vec(), 0);
    for piece in support::split(bytes, &mut chunker) {
        input.extend_from_slice(piece);
        loop {
            let r = if partial {
                conn.recv_partial(&mut input)
            } else {
                conn.recv(&mut input)
            };
            match r {
                Ok(Some(Event::Data(d))) => {
                    message.extend_from_slice(&d.payload);
                    if d.message_end {
                        out.push(format!("{:?}:{:?}", d.kind, std::mem::take(&mut message)));
                    }
                }
                Ok(Some(other)) => out.push(format!("{other:?}")),
                Ok(None) => break,
                Err(e) => {
                    // Errors are sticky (tested in frames.rs): report the first and stop.
                    out.push(format!("error {e:?}"));
                    return out;
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_cut_of_the_stream_gives_the_same_events(
        actions in prop::collection::vec(action(), 1..12),
        cuts in prop::collection::vec(1usize..40, 1..20),
        to_server in any::<bool>(),
    ) {
        let bytes = encode(to_server, &actions);
        let whole = decode(to_server, &bytes, &[], false);
        prop_assert!(!whole.is_empty());
        prop_assert!(!whole.iter().any(|e| e.starts_with("error")), "{whole:?}");
        prop_assert_eq!(&decode(to_server, &bytes, &cuts, false), &whole);
        prop_assert_eq!(&decode(to_server, &bytes, &cuts, true), &whole);
        prop_assert_eq!(&decode(to_server, &bytes, &[1], true), &whole);
    }

    #[test]
    fn arbitrary_input_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        cuts in prop::collection::vec(1usize..64, 1..8),
        server in any::<bool>(),
        partial in any::<bool>(),
    ) {
        let events = decode(server, &bytes, &cuts, partial);
        // Whatever happened, at most one error, and it is the last thing reported.
        let errors = events.iter().filter(|e| e.starts_with("error")).count();
        prop_assert!(errors <= 1);
        if errors == 1 {
            prop_assert!(events.last().unwrap().starts_with("error"));
        }
    }

    #[test]
    fn arbitrary_handshake_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let limits = ropeway_core::Limits::default();
        let mut input = BytesMut::from(&bytes[..]);
        let mut reader = ropeway_core::handshake::RequestReader::new(&limits);
        if let Ok(Some(request)) = reader.recv(&mut input) {
            let _ = ropeway_core::handshake::UpgradeRequest::from_request(request);
        }
        let mut out = BytesMut::new();
        let request = ropeway_core::handshake::ClientRequest::from_url("ws://a/").unwrap();
        let mut client = ropeway_core::handshake::ClientHandshake::new(
            &request, vec![], &mut ropeway_core::ZeroEntropy, &limits, &mut out);
        let mut input = BytesMut::from(&bytes[..]);
        let _ = client.recv(&mut input);
    }
}
