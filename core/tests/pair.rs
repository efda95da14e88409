//! Behaviour through the pair simulator, every test for both roles.

mod support;

use ropeway_core::{
    CloseCode, CloseFrame, Config, ConnectionError, Event, MessageKind, Role, State, UsageError,
};
use support::{Pair, RandomCuts, messages, secs};

const ROLES: [Role; 2] = [Role::Client, Role::Server];

fn other(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn messages_of_every_length_class_round_trip() {
    for role in ROLES {
        for cut in [usize::MAX, 1, 7, 1000] {
            let mut pair = Pair::cut(RandomCuts::new(cut as u64, cut.min(1 << 20)));
            for len in [0, 1, 125, 126, 127, 65535, 65536, 1 << 20] {
                let text = "é".repeat(len / 2);
                pair.side(role)
                    .conn
                    .send(MessageKind::Text, text.as_bytes())
                    .unwrap();
                pair.transfer();
                pair.side(role)
                    .conn
                    .send(MessageKind::Binary, &payload(len))
                    .unwrap();
                pair.transfer();
                let got = messages(&pair.side(other(role)).take_events());
                assert_eq!(got, vec![(true, text.into_bytes()), (false, payload(len))]);
            }
        }
    }
}

#[test]
fn fragments_arrive_as_one_message_with_control_frames_between() {
    for role in ROLES {
        let mut pair = Pair::cut(RandomCuts::new(3, 5));
        let conn = &mut pair.side(role).conn;
        conn.send_fragment(MessageKind::Text, "Hel".as_bytes(), false)
            .unwrap();
        conn.ping(b"in between").unwrap();
        conn.send_fragment(MessageKind::Text, "lo ✓".as_bytes(), false)
            .unwrap();
        conn.send_fragment(MessageKind::Text, b"", true).unwrap();
        pair.transfer();
        let events = pair.side(other(role)).take_events();
        assert!(events.contains(&Event::Ping("in between".into())));
        assert_eq!(
            messages(&events),
            vec![(true, "Hello ✓".as_bytes().to_vec())]
        );
        // The ping was answered.
        let back = pair.side(role).take_events();
        assert_eq!(back, vec![Event::Pong("in between".into())]);
    }
}

#[test]
fn fragment_misuse_is_a_usage_error() {
    for role in ROLES {
        let mut pair = Pair::new();
        let conn = &mut pair.side(role).conn;
        assert_eq!(conn.send_fragment(MessageKind::Binary, b"x", false), Ok(()));
        assert_eq!(
            conn.send(MessageKind::Binary, b"y"),
            Err(UsageError::MessageInProgress)
        );
        assert_eq!(
            conn.send_fragment(MessageKind::Text, b"y", true),
            Err(UsageError::NoMessageInProgress)
        );
        assert_eq!(
            conn.ping(&[0; 126]),
            Err(UsageError::ControlPayloadTooLong(126))
        );
    }
}

#[test]
fn only_the_latest_of_several_pings_needs_a_pong() {
    for role in ROLES {
        let mut pair = Pair::new();
        for payload in [&b"one"[..], b"two", b"three"] {
            pair.side(role).conn.ping(payload).unwrap();
        }
        // Deliver the three pings before the peer flushes anything.
        pair.flow(role);
        assert_eq!(pair.side(other(role)).take_events().len(), 3);
        pair.transfer();
        assert_eq!(
            pair.side(role).take_events(),
            vec![Event::Pong("three".into())]
        );
    }
}

#[test]
fn local_close_is_echoed_and_both_sides_end_cleanly() {
    for role in ROLES {
        let mut pair = Pair::cut(RandomCuts::new(11, 3));
        let frame = CloseFrame::new(4000, "bye");
        pair.side(role).conn.close(Some(frame.clone())).unwrap();
        assert_eq!(pair.side(role).conn.state(), State::ClosingLocal);
        assert_eq!(
            pair.side(role).conn.send(MessageKind::Text, b"late"),
            Err(UsageError::AlreadyClosing)
        );
        pair.transfer();
        assert_eq!(
            pair.side(other(role)).take_events(),
            vec![Event::Close(Some(frame.clone()))]
        );
        assert_eq!(
            pair.side(role).take_events(),
            vec![Event::Close(Some(frame))]
        );
        for side in ROLES {
            assert_eq!(pair.side(side).conn.state(), State::Closed, "{side:?}");
            assert_eq!(pair.side(side).error, None);
        }
        // The server ends the transport first; the client waits for it.
        assert!(pair.server.conn.is_terminated());
        assert!(!pair.client.conn.is_terminated());
        pair.eof_to(Role::Client);
        assert!(pair.client.conn.is_terminated());
        assert_eq!(
            pair.client.error, None,
            "EOF after a clean close is not abnormal"
        );
    }
}

#[test]
fn client_stops_waiting_for_the_server_after_the_close_timeout() {
    let mut pair = Pair::new();
    pair.client.conn.close(None).unwrap();
    pair.transfer();
    assert_eq!(pair.client.conn.state(), State::Closed);
    assert!(!pair.client.conn.is_terminated());
    pair.advance(secs(6));
    assert!(pair.client.conn.is_terminated());
    assert_eq!(pair.client.error, None);
}

#[test]
fn simultaneous_close_needs_no_echo() {
    for role in ROLES {
        let mut pair = Pair::new();
        pair.side(role)
            .conn
            .close(Some(CloseFrame::new(1000, "a")))
            .unwrap();
        pair.side(other(role))
            .conn
            .close(Some(CloseFrame::new(1001, "b")))
            .unwrap();
        pair.transfer();
        assert_eq!(
            pair.side(role).take_events(),
            vec![Event::Close(Some(CloseFrame::new(1001, "b")))]
        );
        assert_eq!(
            pair.side(other(role)).take_events(),
            vec![Event::Close(Some(CloseFrame::new(1000, "a")))]
        );
        assert_eq!(pair.side(role).conn.state(), State::Closed);
        assert_eq!(pair.side(other(role)).conn.state(), State::Closed);
    }
}

#[test]
fn data_still_arrives_while_the_close_is_in_flight() {
    for role in ROLES {
        let mut pair = Pair::new();
        pair.side(other(role))
            .conn
            .send(MessageKind::Text, b"last words")
            .unwrap();
        pair.side(role).conn.close(None).unwrap();
        pair.transfer();
        let got = pair.side(role).take_events();
        assert_eq!(messages(&got), vec![(true, b"last words".to_vec())]);
        assert_eq!(got.last(), Some(&Event::Close(None)));
    }
}

#[test]
fn eof_without_close_is_abnormal_and_distinct() {
    for role in ROLES {
        let mut pair = Pair::new();
        pair.side(other(role))
            .conn
            .send(MessageKind::Binary, b"before")
            .unwrap();
        pair.transfer();
        pair.eof_to(role);
        let side = pair.side(role);
        assert_eq!(
            messages(&side.take_events()),
            vec![(false, b"before".to_vec())]
        );
        assert_eq!(side.error, Some(ConnectionError::Abnormal));
        assert_eq!(
            side.error.as_ref().unwrap().close_code(),
            CloseCode::ABNORMAL
        );
        assert!(side.conn.is_terminated());
    }
}

#[test]
fn eof_mid_frame_delivers_what_was_complete_then_fails() {
    for role in ROLES {
        let mut pair = Pair::new();
        pair.side(other(role))
            .conn
            .send(MessageKind::Binary, b"whole")
            .unwrap();
        pair.side(other(role))
            .conn
            .send(MessageKind::Binary, &[1; 300])
            .unwrap();
        let now = pair.now;
        let out = pair.side(other(role)).conn.poll_transmit(now).to_vec();
        let side = pair.side(role);
        side.input.extend_from_slice(&out[..out.len() - 10]);
        side.conn.handle_eof();
        side.drain();
        assert_eq!(
            messages(&side.take_events()),
            vec![(false, b"whole".to_vec())]
        );
        assert_eq!(side.error, Some(ConnectionError::Abnormal));
    }
}

#[test]
fn keep_alive_pings_a_quiet_connection_and_a_live_peer_answers() {
    let config = Config {
        keep_alive_interval: Some(secs(10)),
        keep_alive_timeout: Some(secs(5)),
        ..Config::default()
    };
    for role in ROLES {
        let mut pair = match role {
            Role::Client => Pair::with(
                config,
                Config {
                    keep_alive_interval: None,
                    ..config
                },
                Box::new(support::Whole),
            ),
            Role::Server => Pair::with(
                Config {
                    keep_alive_interval: None,
                    ..config
                },
                config,
                Box::new(support::Whole),
            ),
        };
        assert_eq!(
            pair.side(role).conn.poll_timeout(),
            Some(pair.now + secs(10))
        );
        // A ping every interval (t = 10, 20, 30 …), each answered before its timeout, and
        // nothing in between: an answering peer is not pinged late.
        pair.advance(secs(5));
        for _ in 0..5 {
            pair.advance(secs(5));
            assert_eq!(
                pair.side(other(role)).take_events(),
                vec![Event::Ping("".into())]
            );
            assert_eq!(pair.side(role).take_events(), vec![Event::Pong("".into())]);
            pair.advance(secs(5));
            assert_eq!(pair.side(role).error, None);
            assert!(pair.side(other(role)).take_events().is_empty());
        }
        assert_eq!(pair.side(role).conn.state(), State::Open);
    }
}

#[test]
fn traffic_from_the_peer_postpones_the_keep_alive_ping() {
    let config = Config {
        keep_alive_interval: Some(secs(10)),
        ..Config::default()
    };
    let quiet = Config {
        keep_alive_interval: None,
        ..config
    };
    for role in ROLES {
        let mut pair = match role {
            Role::Client => Pair::with(config, quiet, Box::new(support::Whole)),
            Role::Server => Pair::with(quiet, config, Box::new(support::Whole)),
        };
        pair.advance(secs(6));
        pair.side(other(role))
            .conn
            .send(MessageKind::Text, b"hi")
            .unwrap();
        pair.transfer();
        pair.side(role).take_events();
        pair.advance(secs(4)); // t = 10: heard from the peer at t = 6, so no ping yet
        assert!(pair.side(other(role)).take_events().is_empty());
        pair.advance(secs(10)); // t = 20: quiet since t = 10
        assert_eq!(
            pair.side(other(role)).take_events(),
            vec![Event::Ping("".into())]
        );
    }
}

#[test]
fn a_dead_peer_is_detected_within_the_keep_alive_timeout() {
    let config = Config {
        keep_alive_interval: Some(secs(10)),
        keep_alive_timeout: Some(secs(5)),
        ..Config::default()
    };
    for role in ROLES {
        let mut pair = Pair::with(config, config, Box::new(support::Whole));
        pair.side(other(role)).deaf = true;
        pair.advance(secs(10));
        assert_eq!(pair.side(role).error, None);
        pair.advance(secs(5));
        let side = pair.side(role);
        side.drain();
        assert_eq!(side.error, Some(ConnectionError::KeepAliveTimeout));
        assert!(side.conn.is_terminated());
        assert_eq!(side.conn.poll_timeout(), None);
    }
}

#[test]
fn an_unanswered_close_times_out() {
    for role in ROLES {
        let mut pair = Pair::new();
        pair.side(other(role)).deaf = true;
        pair.side(role)
            .conn
            .close(Some(CloseFrame::new(1000, "")))
            .unwrap();
        pair.transfer();
        pair.advance(secs(4));
        assert!(!pair.side(role).conn.is_terminated());
        pair.advance(secs(2));
        let side = pair.side(role);
        side.drain();
        assert_eq!(side.error, Some(ConnectionError::CloseTimeout));
        assert!(side.conn.is_terminated());
    }
}

#[test]
fn output_over_the_limit_refuses_data_until_flushed() {
    let mut config = Config::default();
    config.limits.max_queued_output = 1000;
    for role in ROLES {
        let mut pair = Pair::with(config, config, Box::new(support::Whole));
        let conn = &mut pair.side(role).conn;
        conn.send(MessageKind::Binary, &[0; 600]).unwrap();
        assert!(conn.can_send());
        conn.send(MessageKind::Binary, &[0; 600]).unwrap();
        assert!(!conn.can_send());
        assert!(matches!(
            conn.send(MessageKind::Binary, &[0; 10]),
            Err(UsageError::OutputFull { max: 1000, .. })
        ));
        // Control frames still go out: a peer's ping is answered, close still works.
        conn.ping(b"p").unwrap();
        pair.transfer();
        assert!(pair.side(role).conn.can_send());
        assert_eq!(messages(&pair.side(other(role)).take_events()).len(), 2);
    }
}

#[test]
fn streaming_receive_hands_out_pieces_before_the_frame_is_complete() {
    for role in ROLES {
        let mut pair = Pair::cut(support::Cuts(vec![4096], 0));
        pair.side(other(role)).partial = true;
        let big = payload(1 << 20);
        pair.side(role)
            .conn
            .send(MessageKind::Binary, &big)
            .unwrap();
        pair.transfer();
        let events = pair.side(other(role)).take_events();
        assert!(events.len() > 200, "{} pieces", events.len());
        let mut ends = 0;
        for e in &events {
            let Event::Data(d) = e else { panic!("{e:?}") };
            assert!(d.payload.len() <= 4096);
            ends += usize::from(d.message_end);
        }
        assert_eq!(ends, 1);
        assert_eq!(messages(&events), vec![(false, big)]);
        // The receiver never held more than a read's worth.
        assert!(pair.side(other(role)).input.capacity() <= 1 << 16);
    }
}

#[test]
fn a_large_message_streams_past_the_frame_limit_when_fragmented() {
    let mut config = Config::default();
    config.limits.max_frame_size = 1 << 16;
    config.limits.max_message_size = 1 << 30;
    for role in ROLES {
        let mut pair = Pair::with(config, config, Box::new(support::Cuts(vec![65536], 0)));
        pair.side(other(role)).partial = true;
        let chunk = payload(1 << 16);
        let mut received = 0usize;
        for i in 0..64 {
            // 64 × 64 KiB = 4 MiB through a 64 KiB frame limit, drained as it goes.
            pair.side(role)
                .conn
                .send_fragment(MessageKind::Binary, &chunk, i == 63)
                .unwrap();
            pair.transfer();
            for e in pair.side(other(role)).take_events() {
                let Event::Data(d) = e else { panic!() };
                received += d.payload.len();
            }
        }
        assert_eq!(received, 64 << 16);
    }
}

#[test]
fn payloads_sent_by_reference_keep_their_order_with_copied_frames() {
    use ropeway_core::Bytes;
    let config = Config {
        limits: ropeway_core::Limits {
            max_queued_output: 64 << 20,
            ..ropeway_core::Limits::default()
        },
        ..Config::default()
    };
    for role in ROLES {
        let mut pair = Pair::with(config, config, Box::new(RandomCuts::new(17, 5000)));
        let big = Bytes::from(payload(100_000));
        let conn = &mut pair.side(role).conn;
        conn.send(MessageKind::Text, b"first").unwrap();
        conn.send_bytes(MessageKind::Binary, big.clone()).unwrap();
        conn.ping(b"between").unwrap();
        conn.send_bytes(MessageKind::Binary, Bytes::from_static(b"small, copied"))
            .unwrap();
        conn.send_bytes(MessageKind::Binary, big.slice(10..60_000))
            .unwrap();
        conn.close(None).unwrap();
        pair.transfer();
        let events = pair.side(other(role)).take_events();
        assert_eq!(
            messages(&events),
            vec![
                (true, b"first".to_vec()),
                (false, big.to_vec()),
                (false, b"small, copied".to_vec()),
                (false, big[10..60_000].to_vec()),
            ]
        );
        assert!(events.contains(&Event::Ping("between".into())));
        assert_eq!(events.last(), Some(&Event::Close(None)));
    }
}

#[test]
fn vectored_transmit_lists_every_queued_buffer_in_order() {
    use ropeway_core::Bytes;
    use std::io::IoSlice;
    let mut pair = Pair::new();
    let now = pair.now;
    let big = Bytes::from(payload(20_000));
    let server = &mut pair.server.conn;
    server.send(MessageKind::Text, b"a").unwrap();
    server.send_bytes(MessageKind::Binary, big.clone()).unwrap();
    server.send(MessageKind::Text, b"b").unwrap();
    // The slices borrow the connection: copy out what the checks need.
    let written = |server: &mut ropeway_core::Connection| {
        let mut slices = [IoSlice::new(&[]); 8];
        let count = server.poll_transmit_vectored(now, &mut slices);
        let pointers: Vec<*const u8> = slices[..count].iter().map(|s| s.as_ptr()).collect();
        let bytes: Vec<u8> = slices[..count]
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        (pointers, bytes)
    };
    let (pointers, joined) = written(server);
    // The "a" frame with the big header, the payload itself (not copied), the "b" frame.
    assert_eq!(pointers.len(), 3);
    assert_eq!(
        pointers[1],
        big.as_ptr(),
        "the payload is written from the caller's buffer"
    );
    assert_eq!(joined.len(), 3 + 4 + 20_000 + 3);
    assert_eq!(server.queued_output(), joined.len());
    // A partial write is resumed where it stopped.
    server.advance_transmit(5_000);
    assert_eq!(server.queued_output(), joined.len() - 5_000);
    let (_, tail) = written(server);
    assert_eq!(tail, joined[5_000..]);
    server.advance_transmit(tail.len());
    assert_eq!(server.queued_output(), 0);
}
