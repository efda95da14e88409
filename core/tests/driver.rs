//! Connection policy, tested once against the driver in the driven pair (no sockets, no
//! sleeps, a virtual clock), for both roles: close paths, keep-alive and dead peers,
//! backpressure, an application that falls behind, pieces, and the end after each kind of
//! error. Every runtime adapter only carries these steps out.

mod support;

use ropeway_core::driver::{Goal, Next, Piece};
use ropeway_core::frame::{FrameHeader, OpCode};
use ropeway_core::mask::apply_mask;
use ropeway_core::{
    CloseFrame, Config, ConnectionError, Error, Event, Limits, Message, MessageKind, Role,
    SendOptions,
};

use support::driven::{Driven, Outcome};
use support::{RandomCuts, secs};

const ROLES: [Role; 2] = [Role::Client, Role::Server];

fn other(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

/// Settings with keep-alive off, so only what a test arms runs.
fn quiet() -> Config {
    Config {
        keep_alive_interval: None,
        keep_alive_timeout: None,
        ..Config::default()
    }
}

/// A frame as `to`'s peer sends it (masked towards a server).
fn frame_to(to: Role, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mask = (to == Role::Server).then_some([0x37, 0xfa, 0x21, 0x3d]);
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut head = [0; 14];
    let n = header.encode(&mut head);
    let mut body = payload.to_vec();
    if let Some(key) = mask {
        apply_mask(&mut body, key);
    }
    [&head[..n], &body[..]].concat()
}

fn send(driven: &mut Driven, role: Role, message: Message) {
    driven
        .driver(role)
        .send(message, SendOptions::default())
        .unwrap();
}

/// Receives the next whole message on `role`, letting the other side run meanwhile.
fn recv(driven: &mut Driven, role: Role) -> Option<Result<Message, Error>> {
    driven.until(role, Goal::Message).into_message()
}

#[test]
fn messages_flow_both_ways_under_any_cuts() {
    for seed in 1..=8 {
        let cuts = Box::new(RandomCuts::new(seed, 3000));
        let mut driven = Driven::with(quiet(), quiet(), 8 << 10, cuts);
        for role in ROLES {
            for size in [0, 1, 125, 126, 4000, 65_535, 65_536, 200_000] {
                let payload = vec![(size % 251) as u8; size];
                send(&mut driven, role, Message::binary(payload.clone()));
                let got = recv(&mut driven, other(role));
                assert_eq!(
                    got.unwrap().unwrap(),
                    Message::binary(payload),
                    "{role:?} {size}"
                );
            }
        }
    }
}

#[test]
fn a_close_started_by_either_role_ends_both_sides_gracefully() {
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 64 << 10);
        let frame = CloseFrame::new(1000, "bye");
        driven.driver(role).close(Some(frame.clone())).unwrap();
        let Outcome::Waiting = driven.drive(role, Goal::Closed) else {
            panic!("{role:?}: the close handshake cannot be done before the peer answers");
        };
        let got = recv(&mut driven, other(role));
        assert_eq!(
            got.unwrap().unwrap(),
            Message::Close(Some(frame)),
            "{role:?}"
        );
        // The initiator sees the answer; the server ends the transport first, the client
        // then sees the end of stream.
        assert!(matches!(
            driven.until(role, Goal::Closed),
            Next::Ended(None)
        ));
        assert!(recv(&mut driven, other(role)).is_none(), "{role:?}");
        assert!(recv(&mut driven, role).is_none(), "{role:?}");
        for side in ROLES {
            assert_eq!(
                driven.transport(side).shutdown,
                Some(true),
                "{role:?}: {side:?}"
            );
        }
    }
}

#[test]
fn a_peer_that_never_answers_a_close_is_given_up_after_the_close_timeout() {
    for role in ROLES {
        let mut config = quiet();
        config.close_timeout = secs(5);
        let mut driven = Driven::new(config, 64 << 10);
        driven.driver(role).close(None).unwrap();
        assert!(matches!(driven.drive(role, Goal::Closed), Outcome::Waiting));
        driven.advance(secs(5));
        // `close()` succeeded as far as this end goes: the peer just never answered.
        assert!(matches!(
            driven.drive(role, Goal::Closed).next(),
            Next::Ended(None)
        ));
        assert_eq!(driven.transport(role).shutdown, Some(false), "{role:?}");
    }
}

#[test]
fn a_close_by_deadline_ends_an_unanswered_close_at_the_deadline_not_the_close_timeout() {
    for role in ROLES {
        let mut config = quiet();
        config.close_timeout = secs(5);
        let mut driven = Driven::new(config, 64 << 10);
        let deadline = driven.now + secs(1);
        let going_away = CloseFrame::new(1001, "going away");
        driven
            .driver(role)
            .close_by(Some(going_away), deadline)
            .unwrap();
        assert!(matches!(driven.drive(role, Goal::Closed), Outcome::Waiting));
        driven.advance(secs(1));
        // As after the close timeout: `Goal::Closed` is reached, the transport aborted.
        assert!(matches!(
            driven.drive(role, Goal::Closed).next(),
            Next::Ended(None)
        ));
        assert_eq!(driven.transport(role).shutdown, Some(false), "{role:?}");
    }
}

#[test]
fn a_close_by_deadline_shortens_a_close_already_under_way_and_never_lengthens_it() {
    for role in ROLES {
        let mut config = quiet();
        config.close_timeout = secs(5);
        let mut driven = Driven::new(config, 64 << 10);
        driven.driver(role).close(None).unwrap();
        assert!(matches!(driven.drive(role, Goal::Closed), Outcome::Waiting));
        // A later deadline changes nothing; a sooner one ends it then.
        let later = driven.now + secs(60);
        driven.driver(role).close_by(None, later).unwrap();
        let sooner = driven.now + secs(2);
        driven.driver(role).close_by(None, sooner).unwrap();
        assert!(matches!(driven.drive(role, Goal::Closed), Outcome::Waiting));
        driven.advance(secs(1));
        assert!(matches!(driven.drive(role, Goal::Closed), Outcome::Waiting));
        driven.advance(secs(1));
        assert!(matches!(
            driven.drive(role, Goal::Closed).next(),
            Next::Ended(None)
        ));
        assert_eq!(driven.transport(role).shutdown, Some(false), "{role:?}");
    }
}

#[test]
fn a_dead_peer_is_detected_by_keep_alive_and_the_transport_aborted() {
    for role in ROLES {
        let config = Config {
            keep_alive_interval: Some(secs(10)),
            keep_alive_timeout: Some(secs(5)),
            ..Config::default()
        };
        let mut driven = Driven::new(config, 64 << 10);
        assert!(matches!(
            driven.drive(role, Goal::Message),
            Outcome::Waiting
        ));
        driven.advance(secs(10));
        assert!(matches!(
            driven.drive(role, Goal::Message),
            Outcome::Waiting
        ));
        assert!(
            driven.outgoing(role).len() > 0,
            "{role:?}: the keep-alive ping went out"
        );
        driven.advance(secs(5));
        let end = driven.drive(role, Goal::Message).next().into_message();
        assert!(
            matches!(
                end,
                Some(Err(Error::Connection(ConnectionError::KeepAliveTimeout)))
            ),
            "{role:?}: {end:?}"
        );
        assert!(recv(&mut driven, role).is_none());
        assert_eq!(driven.transport(role).shutdown, Some(false), "{role:?}");
    }
}

#[test]
fn a_live_peer_sending_one_large_frame_slowly_is_not_taken_for_dead() {
    for role in ROLES {
        let config = Config {
            keep_alive_interval: Some(secs(2)),
            keep_alive_timeout: Some(secs(2)),
            ..Config::default()
        };
        let mut driven = Driven::new(config, 1 << 20);
        // One 100 KiB frame, a piece every second: no frame ends for 100 s, so no pong can
        // come, but bytes keep arriving.
        let frame = frame_to(role, OpCode::Binary, &vec![3; 100 << 10]);
        for piece in frame.chunks(1024) {
            driven.outgoing(other(role)).inject(piece);
            driven.advance(secs(1));
            match driven.drive(role, Goal::Message) {
                Outcome::Waiting => {}
                Outcome::Reached(next) => {
                    let got = next.into_message();
                    assert!(
                        matches!(got, Some(Ok(Message::Binary(_)))),
                        "{role:?}: {got:?}"
                    );
                }
            }
        }
        assert!(!driven.driver(role).is_ended(), "{role:?}");
    }
}

#[test]
fn a_peer_that_answers_keep_alive_pings_stays_connected() {
    let config = Config {
        keep_alive_interval: Some(secs(10)),
        keep_alive_timeout: Some(secs(5)),
        ..Config::default()
    };
    let mut driven = Driven::new(config, 64 << 10);
    for _ in 0..60 {
        driven.advance(secs(1));
        for role in ROLES {
            match driven.drive(role, Goal::Message) {
                Outcome::Waiting | Outcome::Reached(Next::Message(Message::Ping(_))) => {}
                Outcome::Reached(Next::Message(Message::Pong(_))) => {}
                other => panic!("{role:?}: {other:?}"),
            }
        }
    }
    assert!(!driven.client.is_ended() && !driven.server.is_ended());
}

#[test]
fn reading_stops_while_the_output_is_over_its_limit() {
    for role in ROLES {
        let config = Config {
            limits: Limits {
                max_queued_output: 16 << 10,
                ..Limits::default()
            },
            ..quiet()
        };
        // The peer floods pings and never reads; the transport holds only 4 KiB.
        let mut driven = Driven::new(config, 4 << 10);
        let ping = frame_to(role, OpCode::Ping, &[7; 125]);
        let flood = 20_000;
        for _ in 0..flood {
            driven.outgoing(other(role)).inject(&ping);
        }
        let injected = flood * ping.len();
        for _ in 0..100 {
            let _ = driven.drive(role, Goal::Message);
        }
        let queued = driven.driver(role).connection().queued_output();
        let read = injected - driven.outgoing(other(role)).len();
        // At most the limit plus the answers to one read's worth of pings.
        let one_read_of_pongs = (driven.read_size / ping.len() + 1) * 127;
        assert!(
            queued <= (16 << 10) + one_read_of_pongs,
            "{role:?}: {queued}"
        );
        assert!(read < injected / 4, "{role:?}: read {read} of {injected}");
    }
}

#[test]
fn output_the_peer_never_reads_ends_at_the_write_stall_timeout() {
    for role in ROLES {
        let config = Config {
            write_stall_timeout: Some(secs(30)),
            ..quiet()
        };
        let mut driven = Driven::new(config, 4 << 10);
        let mut sent = 0;
        while let Outcome::Reached(next) = driven.drive(role, Goal::SendReady) {
            next.into_send_ready().unwrap();
            send(&mut driven, role, Message::binary(vec![1; 64 << 10]));
            sent += 1;
            assert!(sent < 100, "{role:?}: sending never waited");
        }
        driven.advance(secs(29));
        assert!(matches!(
            driven.drive(role, Goal::SendReady),
            Outcome::Waiting
        ));
        driven.advance(secs(1));
        // The sender learns nothing more can be sent; the receiver learns why.
        let refused = driven.drive(role, Goal::SendReady).next().into_send_ready();
        assert!(
            matches!(refused, Err(Error::Closed)),
            "{role:?}: {refused:?}"
        );
        let end = driven.drive(role, Goal::Message).next().into_message();
        assert!(
            matches!(
                end,
                Some(Err(Error::Connection(ConnectionError::WriteStalled)))
            ),
            "{role:?}: {end:?}"
        );
        assert!(recv(&mut driven, role).is_none());
        assert_eq!(driven.transport(role).shutdown, Some(false));
    }
}

#[test]
fn a_protocol_error_is_answered_with_its_close_frame_then_drained_then_reported() {
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 64 << 10);
        // A server must get masked frames and a client unmasked ones: the wrong kind.
        let wrong = frame_to(other(role), OpCode::Text, b"wrong mask");
        driven.outgoing(other(role)).inject(&wrong);
        // The close frame goes out and the write side is shut; the error waits for the peer
        // to read them and end its side, so closing never resets the connection under it.
        assert!(matches!(
            driven.drive(role, Goal::Message),
            Outcome::Waiting
        ));
        assert_eq!(driven.transport(role).shutdown, Some(true), "{role:?}");
        let answer = recv(&mut driven, other(role)).unwrap().unwrap();
        let Message::Close(Some(frame)) = answer else {
            panic!("{role:?}: {answer:?}");
        };
        assert_eq!(frame.code.0, 1002);
        let end = driven.until(role, Goal::Message).into_message();
        assert!(
            matches!(
                end,
                Some(Err(Error::Connection(ConnectionError::Protocol(_))))
            ),
            "{role:?}: {end:?}"
        );
        assert!(recv(&mut driven, role).is_none());
    }
}

#[test]
fn the_drain_after_a_failure_is_bounded_in_bytes_and_time() {
    for role in ROLES {
        let config = Config {
            failure_drain: 100_000,
            close_timeout: secs(5),
            ..quiet()
        };
        // A peer that keeps sending after the error and never ends: dropped after the drain
        // limit...
        let mut driven = Driven::new(config, 1 << 20);
        let wrong = frame_to(other(role), OpCode::Text, b"wrong mask");
        driven.outgoing(other(role)).inject(&wrong);
        driven.outgoing(other(role)).inject(&vec![0; 300_000]);
        let end = driven.drive(role, Goal::Message).next().into_message();
        assert!(matches!(end, Some(Err(_))), "{role:?}: {end:?}");
        // Read: the read that held the error, then reads until the limit is reached.
        let read = 300_000 + wrong.len() - driven.outgoing(other(role)).len();
        let reads = 2 * driven.read_size;
        assert!(
            (100_000..=100_000 + reads).contains(&read),
            "{role:?}: {read} read"
        );
        // ... or at the close timeout, whichever comes first.
        let mut driven = Driven::new(config, 1 << 20);
        driven.outgoing(other(role)).inject(&wrong);
        assert!(matches!(
            driven.drive(role, Goal::Message),
            Outcome::Waiting
        ));
        driven.advance(secs(5));
        let end = driven.drive(role, Goal::Message).next().into_message();
        assert!(matches!(end, Some(Err(_))), "{role:?}: {end:?}");
    }
}

#[test]
fn a_transport_that_ends_or_fails_mid_connection_is_reported_and_aborted() {
    for role in ROLES {
        for reset in [false, true] {
            let mut driven = Driven::new(quiet(), 64 << 10);
            let pipe = driven.outgoing(other(role));
            if reset {
                pipe.reset = true;
            } else {
                pipe.closed = true;
            }
            let end = driven.drive(role, Goal::Message).next().into_message();
            let expected = match &end {
                Some(Err(Error::Io(_))) => reset,
                Some(Err(Error::Connection(ConnectionError::Abnormal))) => !reset,
                _ => false,
            };
            assert!(expected, "{role:?} reset={reset}: {end:?}");
            assert!(recv(&mut driven, role).is_none());
            assert_eq!(driven.transport(role).shutdown, Some(false));
        }
    }
}

#[test]
fn a_close_that_arrived_before_a_reset_is_reported_instead_of_the_reset() {
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 256 << 10);
        // This end streams a large message; the peer fails it at its limit (1009), then
        // resets the connection while this end is still writing.
        let answer = CloseFrame::new(1009, "message over the limit");
        let now = driven.now;
        let peer = driven.driver(other(role));
        peer.close(Some(answer.clone())).unwrap();
        let close_frame = peer.poll_transmit_with(|| now).to_vec();
        driven.outgoing(other(role)).inject(&close_frame);
        driven.outgoing(other(role)).reset = true;
        driven.outgoing(role).refused = true;
        send(&mut driven, role, Message::binary(vec![1; 100_000]));
        let refused = driven.drive(role, Goal::Flushed).next().into_done();
        assert!(
            refused.is_ok(),
            "{role:?}: the sender learns the end from recv: {refused:?}"
        );
        let got = driven.drive(role, Goal::Message).next().into_message();
        assert_eq!(
            got.unwrap().unwrap(),
            Message::Close(Some(answer)),
            "{role:?}"
        );
        assert!(recv(&mut driven, role).is_none(), "{role:?}");
    }
}

#[test]
fn a_close_whose_answer_cannot_be_written_is_still_handed_out() {
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 64 << 10);
        let frame = CloseFrame::new(1009, "too big");
        let mut payload = 1009u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"too big");
        driven
            .outgoing(other(role))
            .inject(&frame_to(role, OpCode::Close, &payload));
        // The peer is gone by the time the answer is written.
        driven.outgoing(role).refused = true;
        let got = driven.drive(role, Goal::Message).next().into_message();
        assert_eq!(
            got.unwrap().unwrap(),
            Message::Close(Some(frame)),
            "{role:?}"
        );
        assert!(recv(&mut driven, role).is_none(), "{role:?}");
    }
}

#[test]
fn a_ping_is_handed_out_after_its_pong_is_written() {
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 64 << 10);
        driven
            .outgoing(other(role))
            .inject(&frame_to(role, OpCode::Ping, b"hi"));
        let got = driven.drive(role, Goal::Message).next().into_message();
        assert_eq!(got.unwrap().unwrap(), Message::Ping("hi".into()));
        let answer = recv(&mut driven, other(role)).unwrap().unwrap();
        assert_eq!(answer, Message::Pong("hi".into()), "{role:?}");
    }
}

#[test]
fn pieces_stream_a_large_message_through_a_small_buffer() {
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 16 << 10);
        let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        send(&mut driven, other(role), Message::binary(payload.clone()));
        let mut got = Vec::new();
        let mut buf = [0; 1000];
        loop {
            if let Some(piece) = driven.driver(role).take_piece(&mut buf) {
                let Piece::Data {
                    len,
                    end_of_message,
                    ..
                } = piece
                else {
                    panic!("{piece:?}");
                };
                assert!(len <= buf.len());
                got.extend_from_slice(&buf[..len]);
                if end_of_message {
                    break;
                }
                continue;
            }
            match driven.drive(role, Goal::Piece) {
                Outcome::Reached(Next::Ready) => {}
                Outcome::Waiting => {
                    let _ = driven.drive(other(role), Goal::Flushed);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(got == payload, "{role:?}");
    }
}

#[test]
fn pieces_taken_whole_then_messages_again_at_the_next_message() {
    // A split read half takes pieces without a copy (take_piece_data), and switches back to
    // whole messages only between messages (is_mid_message).
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 16 << 10);
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        send(&mut driven, other(role), Message::binary(payload.clone()));
        send(&mut driven, other(role), Message::text("after"));
        let mut got = Vec::new();
        loop {
            if let Some(data) = driven.driver(role).take_piece_data() {
                got.extend_from_slice(&data.payload);
                if data.message_end {
                    break;
                }
                continue;
            }
            match driven.drive(role, Goal::Piece) {
                Outcome::Reached(Next::Ready) => {}
                Outcome::Waiting => {
                    let _ = driven.drive(other(role), Goal::Flushed);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(got == payload, "{role:?}");
        assert!(!driven.driver(role).is_mid_message());
        let after = driven.until(role, Goal::Message).into_message();
        assert_eq!(after.unwrap().unwrap(), Message::text("after"), "{role:?}");

        // Half a fragmented message: the message goal is in the middle of it.
        driven
            .driver(other(role))
            .send_fragment(MessageKind::Text, b"half ", false, SendOptions::default())
            .unwrap();
        let _ = driven.drive(other(role), Goal::Flushed);
        assert!(matches!(
            driven.drive(role, Goal::Message),
            Outcome::Waiting
        ));
        assert!(driven.driver(role).is_mid_message(), "{role:?}");
        driven
            .driver(other(role))
            .send_fragment(MessageKind::Text, b"whole", true, SendOptions::default())
            .unwrap();
        let _ = driven.drive(other(role), Goal::Flushed);
        let whole = driven.until(role, Goal::Message).into_message();
        assert_eq!(whole.unwrap().unwrap(), Message::text("half whole"));
        assert!(!driven.driver(role).is_mid_message());
    }
}

#[test]
fn while_the_application_is_behind_nothing_is_read_but_timers_and_writes_go_on() {
    for role in ROLES {
        let config = Config {
            keep_alive_interval: Some(secs(10)),
            keep_alive_timeout: Some(secs(5)),
            ..Config::default()
        };
        let mut driven = Driven::new(config, 64 << 10);
        driven.driver(role).handle_app_behind(true);
        send(&mut driven, other(role), Message::text("waiting"));
        let _ = driven.drive(other(role), Goal::Flushed);
        let in_flight = driven.outgoing(other(role)).len();
        assert!(matches!(
            driven.drive(role, Goal::Message),
            Outcome::Waiting
        ));
        assert_eq!(
            driven.outgoing(other(role)).len(),
            in_flight,
            "{role:?}: read"
        );
        // The peer is quiet as far as this side knows: its keep-alive ping still goes out.
        driven.advance(secs(10));
        assert!(matches!(
            driven.drive(role, Goal::Message),
            Outcome::Waiting
        ));
        assert!(
            driven.outgoing(role).len() > 0,
            "{role:?}: no keep-alive ping"
        );
        driven.driver(role).handle_app_behind(false);
        let got = driven.drive(role, Goal::Message).next().into_message();
        assert_eq!(got.unwrap().unwrap(), Message::text("waiting"));
    }
}

#[test]
fn once_the_end_is_reported_every_send_reports_it() {
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 64 << 10);
        driven.outgoing(other(role)).closed = true;
        let end = driven.drive(role, Goal::Message).next().into_message();
        assert!(end.unwrap().is_err());
        let late = driven
            .driver(role)
            .send(Message::text("late"), SendOptions::default());
        assert!(matches!(late, Err(Error::Closed)), "{role:?}: {late:?}");
        let ready = driven.drive(role, Goal::SendReady).next().into_send_ready();
        assert!(matches!(ready, Err(Error::Closed)), "{role:?}: {ready:?}");
    }
}

#[test]
fn abandoning_a_connection_closes_it_normally() {
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 64 << 10);
        driven.driver(role).handle_abandoned();
        let _ = driven.drive(role, Goal::Message);
        let got = recv(&mut driven, other(role)).unwrap().unwrap();
        assert_eq!(
            got,
            Message::Close(Some(CloseFrame::new(1000, ""))),
            "{role:?}"
        );
    }
}

#[test]
fn events_are_the_same_through_the_driver_whatever_the_cuts() {
    // The raw event stream, for callers that assemble themselves.
    for seed in 1..=4 {
        let cuts = Box::new(RandomCuts::new(seed, 7));
        let mut driven = Driven::with(quiet(), quiet(), 1 << 10, cuts);
        send(&mut driven, Role::Client, Message::text("hello"));
        send(&mut driven, Role::Client, Message::Ping("p".into()));
        let mut events = Vec::new();
        while events.len() < 2 {
            match driven.drive(Role::Server, Goal::Event) {
                Outcome::Reached(Next::Event(event)) => events.push(event),
                Outcome::Reached(other) => panic!("{other:?}"),
                Outcome::Waiting => {
                    let _ = driven.drive(Role::Client, Goal::Flushed);
                }
            }
        }
        assert!(matches!(&events[0], Event::Data(d) if &d.payload[..] == b"hello"));
        assert_eq!(events[1], Event::Ping("p".into()));
    }
}

/// A peer that floods tiny frames fills every read, so its connection never waits on its
/// own: without a budget, an executor with no cooperative budget (smol) or an event loop
/// serves it alone while every other connection starves (issue #21). The driver hands out
/// at most `Config::work_budget` events in a row, then says `Yield`, whatever the runtime.
#[test]
fn a_flood_of_tiny_frames_yields_after_the_work_budget() {
    use ropeway_core::driver::Driver;
    use ropeway_core::{BytesMut, Connection};

    let now = std::time::Instant::now();
    let budget = usize::from(Config::default().work_budget);
    let pongs = 3 * budget + 10;
    let mut input = BytesMut::new();
    for _ in 0..pongs {
        input.extend_from_slice(&frame_to(Role::Server, OpCode::Pong, b"p"));
    }
    let mut driver = Driver::new(Connection::server(quiet(), now), input, 4096);
    let (mut delivered, mut yields, mut in_a_row) = (0, 0, 0);
    while delivered < pongs {
        match driver.poll(Goal::Message) {
            Next::Message(Message::Pong(_)) => {
                delivered += 1;
                in_a_row += 1;
                assert!(in_a_row <= budget, "{in_a_row} events without a yield");
            }
            Next::Yield => {
                assert_eq!(in_a_row, budget, "yielded early");
                yields += 1;
                in_a_row = 0;
            }
            other => panic!("unexpected step {other:?}"),
        }
    }
    assert_eq!(yields, 3);
    // Sending never yields: only goals that receive take input.
    assert!(!matches!(driver.poll(Goal::Flushed), Next::Yield));
}

/// A connection that waits for input between messages (a request-response exchange) starts
/// a fresh budget each time, so it never yields.
#[test]
fn a_connection_that_waits_between_messages_never_yields() {
    use ropeway_core::driver::{Driver, ReadInto};
    use ropeway_core::{BytesMut, Connection};

    let now = std::time::Instant::now();
    let mut driver = Driver::new(Connection::server(quiet(), now), BytesMut::new(), 4096);
    for _ in 0..4 * usize::from(Config::default().work_budget) {
        loop {
            match driver.poll(Goal::Message) {
                Next::Read => {
                    if driver.handle_read_blocked() {
                        break;
                    }
                }
                Next::Yield => panic!("a connection that waits must not yield"),
                other => panic!("unexpected step {other:?}"),
            }
        }
        let frame = frame_to(Role::Server, OpCode::Text, b"hi");
        driver.handle_readable();
        assert!(matches!(driver.poll(Goal::Message), Next::Read));
        match driver.read_into() {
            ReadInto::Scratch => driver.handle_read_slice(&frame),
            ReadInto::Buffer(buf) => {
                buf.extend_from_slice(&frame);
                driver.handle_read(frame.len());
            }
        }
        assert_eq!(
            driver.poll(Goal::Message).into_message().unwrap().unwrap(),
            Message::text("hi")
        );
    }
}

/// The split policy (what the task driving a split connection does with its channels),
/// decided once in the core for every runtime.
mod split_policy {
    use super::*;
    use ropeway_core::driver::{Driver, Forward, SplitPolicy};
    use ropeway_core::{BytesMut, Connection};

    fn driver() -> Driver {
        Driver::new(
            Connection::server(quiet(), std::time::Instant::now()),
            BytesMut::new(),
            4096,
        )
    }

    #[test]
    fn both_halves_dropped_closes_the_connection_normally_once() {
        let mut driver = driver();
        let mut policy = SplitPolicy::new();
        policy.handle_writers_gone(&mut driver);
        assert_eq!(
            driver.connection().queued_output(),
            0,
            "the reader is still there"
        );
        policy.handle_reader_gone(&mut driver);
        let queued = driver.connection().queued_output();
        assert!(queued > 0, "a close frame is queued");
        policy.handle_reader_gone(&mut driver);
        assert_eq!(driver.connection().queued_output(), queued, "closed once");
        assert!(!policy.serves_reader() && !policy.takes_from_writers());
    }

    #[test]
    fn the_end_refuses_senders_before_the_reader_sees_it() {
        let mut driver = driver();
        let mut policy = SplitPolicy::new();
        assert_eq!(policy.forward(false), Forward::ToReader);
        assert_eq!(policy.forward(true), Forward::CloseSendersThenToReader);
        policy.handle_reader_gone(&mut driver);
        assert_eq!(policy.forward(false), Forward::Drop);
        assert_eq!(policy.forward(true), Forward::CloseSenders);
    }

    #[test]
    fn a_reader_without_room_stops_reading_from_the_peer() {
        let mut driver = driver();
        let mut policy = SplitPolicy::new();
        policy.handle_reader_room(&mut driver, false);
        assert!(
            !matches!(driver.poll(Goal::Message), Next::Read),
            "read while behind"
        );
        policy.handle_reader_room(&mut driver, true);
        assert!(matches!(driver.poll(Goal::Message), Next::Read));
    }

    #[test]
    fn pieces_and_messages_switch_only_between_messages() {
        let driver = driver();
        let mut policy = SplitPolicy::new();
        assert_eq!(policy.reader_goal(&driver, true), Goal::Piece);
        policy.handle_piece(false);
        // Mid-message: the read half's switch waits for the message's end.
        assert_eq!(policy.reader_goal(&driver, false), Goal::Piece);
        policy.handle_piece(true);
        assert_eq!(policy.reader_goal(&driver, false), Goal::Message);
    }
}

#[test]
fn a_ping_held_for_its_pong_stops_reading_while_the_writes_are_put_off() {
    // An event loop puts the first write of its turn off (WriteStep::later) and writes at
    // the turn's end. A ping that comes while output is queued waits for its pong to be
    // written before it is handed out; meanwhile nothing more is read: a ping flood would
    // otherwise pile up input nothing decodes, copied again by every read that grows the
    // buffer (the mio loop spent 78 % of a core in page faults that way).
    use ropeway_core::driver::Step;
    for role in ROLES {
        let mut driven = Driven::new(quiet(), 64 << 10);
        let flood = frame_to(role, OpCode::Ping, b"p").repeat(20_000);
        let mut input = &flood[..];
        let mut take = |n: usize| {
            let (chunk, rest) = input.split_at(n.min(input.len()));
            input = rest;
            chunk.to_vec()
        };
        let driver = driven.driver(role);
        let (mut reads, mut pings, mut put_off) = (0, 0, false);
        let mut step = driver.step(Goal::Message);
        let waited = loop {
            step = match step {
                Step::Write(write) if !put_off => {
                    put_off = true;
                    write.later()
                }
                Step::ReadScratch(read) => {
                    reads += 1;
                    read.read(&take(4096))
                }
                Step::ReadBuffer(mut read) => {
                    reads += 1;
                    let chunk = take(4096);
                    read.buf().extend_from_slice(&chunk);
                    read.filled(chunk.len())
                }
                Step::Message(Message::Ping(_)) => {
                    pings += 1;
                    driver.step(Goal::Message)
                }
                Step::Timer(timer) => timer.armed(),
                Step::Wait(_) => break true,
                other => panic!("{role:?}: {other:?}"),
            };
        };
        assert!(waited);
        // The first ping's pong is queued as it is decoded, so the ping waits for the write.
        assert_eq!(
            (reads, pings),
            (1, 0),
            "{role:?}: read on while a ping was held"
        );
        // The turn's write: the pong goes out, the held ping is handed out, decoding goes on.
        driver.handle_write_turn();
        let mut step = driver.step(Goal::Message);
        for _ in 0..10 {
            step = match step {
                Step::Write(mut write) => {
                    let n = write.bytes(std::time::Instant::now).len();
                    write.written(n)
                }
                Step::Flush(flush) => flush.flushed(),
                Step::Message(Message::Ping(_)) => {
                    pings += 1;
                    driver.step(Goal::Message)
                }
                Step::Timer(timer) => timer.armed(),
                _ => break,
            };
        }
        assert!(
            pings > 0,
            "{role:?}: the held ping came out after the write"
        );
    }
}
