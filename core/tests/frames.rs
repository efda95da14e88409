//! Every framing rule of RFC 6455 §5, fed as raw bytes to a core of either role.

use std::time::Instant;

use ropeway_core::frame::{FrameHeader, OpCode};
use ropeway_core::mask::apply_mask;
use ropeway_core::{
    BytesMut, CloseCode, CloseFrame, Config, Connection, ConnectionError, Event, MessageKind,
    ProtocolError, Role, State, ZeroEntropy,
};

const ROLES: [Role; 2] = [Role::Client, Role::Server];

/// A core of `role` with default settings.
fn conn(role: Role) -> Connection {
    conn_with(role, Config::default())
}

fn conn_with(role: Role, config: Config) -> Connection {
    let now = Instant::now();
    match role {
        Role::Server => Connection::server(config, now),
        Role::Client => Connection::client(config, Box::new(ZeroEntropy), now),
    }
}

/// A frame as the peer of `role` would send it (masked towards a server).
fn frame(role: Role, fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = (role == Role::Server).then_some([0x37, 0xfa, 0x21, 0x3d]);
    raw(fin, rsv, opcode, mask, payload)
}

fn raw(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut head = [0; 14];
    let header = FrameHeader {
        fin,
        rsv,
        opcode: OpCode::Binary,
        mask,
        payload_len: payload.len() as u64,
    };
    let n = header.encode(&mut head);
    head[0] = (head[0] & 0xf0) | opcode;
    let mut bytes = head[..n].to_vec();
    let mut body = payload.to_vec();
    if let Some(key) = mask {
        apply_mask(&mut body, key);
    }
    bytes.extend(body);
    bytes
}

/// Feeds `bytes` and collects events until the core needs input or fails.
fn feed(conn: &mut Connection, bytes: &[u8]) -> (Vec<Event>, Option<ConnectionError>) {
    let mut input = BytesMut::from(bytes);
    let mut events = Vec::new();
    loop {
        match conn.recv(&mut input) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

/// The close frame the core queued, decoded from its output.
fn queued_close(conn: &mut Connection) -> Option<CloseFrame> {
    let out = conn.poll_transmit(Instant::now()).to_vec();
    let mut peer = conn_with(
        match conn.role() {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        },
        Config::default(),
    );
    let (events, _) = feed(&mut peer, &out);
    events.into_iter().find_map(|e| match e {
        Event::Close(frame) => frame,
        _ => None,
    })
}

fn assert_fails(role: Role, bytes: &[u8], expected: ProtocolError) {
    let mut c = conn(role);
    let (_, error) = feed(&mut c, bytes);
    assert_eq!(
        error,
        Some(ConnectionError::Protocol(expected.clone())),
        "{role:?}"
    );
    let close = queued_close(&mut c).expect("a close frame is queued");
    assert_eq!(close.code, expected.close_code(), "{role:?}");
    // Sticky: further input is refused with the same error.
    let (events, again) = feed(&mut c, &frame(role, true, 0, 1, b"more"));
    assert!(events.is_empty());
    assert_eq!(again, Some(ConnectionError::Protocol(expected)));
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn all_data_opcodes_and_lengths_decode() {
    for role in ROLES {
        let mut c = conn(role);
        for len in [0usize, 1, 125, 126, 65535, 65536] {
            let body = vec![b'a'; len];
            let (events, err) = feed(&mut c, &frame(role, true, 0, 2, &body));
            assert_eq!(err, None);
            let [Event::Data(d)] = &events[..] else {
                panic!("{events:?}")
            };
            assert_eq!(
                (d.kind, d.payload.len(), d.message_end),
                (MessageKind::Binary, len, true)
            );
        }
    }
}

#[test]
fn reserved_opcodes_fail() {
    for role in ROLES {
        for op in [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_fails(
                role,
                &frame(role, true, 0, op, b""),
                ProtocolError::ReservedOpcode(op),
            );
        }
    }
}

#[test]
fn unclaimed_rsv_bits_fail() {
    for role in ROLES {
        for rsv in 1..8 {
            assert_fails(
                role,
                &frame(role, true, rsv, 1, b"x"),
                ProtocolError::ReservedBits(rsv),
            );
            assert_fails(
                role,
                &frame(role, true, rsv, 9, b""),
                ProtocolError::ReservedBits(rsv),
            );
        }
    }
}

#[test]
fn masking_is_required_towards_servers_and_forbidden_towards_clients() {
    assert_fails(
        Role::Server,
        &raw(true, 0, 1, None, b"x"),
        ProtocolError::UnmaskedFrame,
    );
    assert_fails(
        Role::Client,
        &raw(true, 0, 1, Some([1, 2, 3, 4]), b"x"),
        ProtocolError::MaskedFrame,
    );
}

#[test]
fn control_frame_rules() {
    for role in ROLES {
        assert_fails(
            role,
            &frame(role, false, 0, 9, b""),
            ProtocolError::FragmentedControlFrame,
        );
        assert_fails(
            role,
            &frame(role, true, 0, 9, &[0; 126]),
            ProtocolError::ControlFrameTooLong(126),
        );
        // The length the peer claimed, not the 7-bit code that says "16-bit length follows".
        assert_fails(
            role,
            &frame(role, true, 0, 8, &[0; 200]),
            ProtocolError::ControlFrameTooLong(200),
        );
        // 125 bytes is fine, and answered.
        let mut c = conn(role);
        let (events, err) = feed(&mut c, &frame(role, true, 0, 9, &[7; 125]));
        assert_eq!(
            (events, err),
            (vec![Event::Ping(vec![7; 125].into())], None)
        );
    }
}

#[test]
fn non_minimal_lengths_fail() {
    for role in ROLES {
        let mask_bit = if role == Role::Server { 0x80 } else { 0 };
        let mut bytes = vec![0x82, mask_bit | 126, 0, 5];
        if role == Role::Server {
            bytes.extend([0; 4]);
        }
        bytes.extend([0; 5]);
        assert_fails(role, &bytes, ProtocolError::NonMinimalLength);
    }
}

/// What `bytes` fail with, and the close frame queued for the peer: its code and the reason
/// that tells whoever debugs the peer which rule it broke.
fn failure(role: Role, bytes: &[u8]) -> (Option<ConnectionError>, CloseFrame) {
    let mut c = conn(role);
    let (_, error) = feed(&mut c, bytes);
    let close = queued_close(&mut c).expect("a close frame is queued");
    (error, close)
}

/// A frame header as the peer of `role` sends it, with the 7-bit length code `len7`, the
/// extended length bytes `extended` and (towards a server) a zero mask key.
fn header_with_length(role: Role, b0: u8, len7: u8, extended: &[u8]) -> Vec<u8> {
    let mask_bit = if role == Role::Server { 0x80 } else { 0 };
    let mut bytes = vec![b0, mask_bit | len7];
    bytes.extend_from_slice(extended);
    if role == Role::Server {
        bytes.extend([0; 4]);
    }
    bytes
}

#[test]
fn a_64_bit_length_with_the_top_bit_set_is_named_as_such() {
    for role in ROLES {
        for len in [1u64 << 63, u64::MAX] {
            let bytes = header_with_length(role, 0x82, 127, &len.to_be_bytes());
            let (error, close) = failure(role, &bytes);
            assert_eq!(close.code, CloseCode::PROTOCOL_ERROR, "{role:?} {len}");
            assert_eq!(
                close.reason, "most significant bit of the 64-bit payload length is set",
                "{role:?} {len}"
            );
            assert_eq!(
                error,
                Some(ConnectionError::Protocol(ProtocolError::LengthMsbSet)),
                "{role:?} {len}"
            );
        }
    }
}

#[test]
fn a_short_control_frame_in_a_longer_length_form_is_not_minimally_encoded() {
    for role in ROLES {
        // A 10-byte ping in the 16-bit form, a 2-byte close and a 125-byte pong in the
        // 64-bit form: each payload fits in 125 bytes; its length's encoding is what is wrong.
        let cases = [
            (0x89, 126, 10u64.to_be_bytes()[6..].to_vec(), 10),
            (0x88, 126, 2u64.to_be_bytes()[6..].to_vec(), 2),
            (0x8a, 127, 125u64.to_be_bytes().to_vec(), 125),
        ];
        for (b0, len7, extended, len) in cases {
            let mut bytes = header_with_length(role, b0, len7, &extended);
            bytes.extend(vec![0x03; len]);
            let (error, close) = failure(role, &bytes);
            assert_eq!(close.code, CloseCode::PROTOCOL_ERROR, "{role:?} {b0:#x}");
            assert_eq!(
                close.reason, "payload length not minimally encoded",
                "{role:?} {b0:#x}"
            );
            assert_eq!(
                error,
                Some(ConnectionError::Protocol(ProtocolError::NonMinimalLength)),
                "{role:?} {b0:#x}"
            );
        }
    }
}

#[test]
fn an_invalid_utf8_close_reason_is_named_as_the_close_reason() {
    for role in ROLES {
        let (error, close) = failure(role, &frame(role, true, 0, 8, b"\x03\xe8ok \xff"));
        assert_eq!(close.code, CloseCode::INVALID_PAYLOAD, "{role:?}");
        assert_eq!(close.reason, "close reason is not valid UTF-8", "{role:?}");
        assert_eq!(
            error,
            Some(ConnectionError::Protocol(ProtocolError::InvalidCloseReason)),
            "{role:?}"
        );
    }
}

#[test]
fn continuation_rules() {
    for role in ROLES {
        assert_fails(
            role,
            &frame(role, true, 0, 0, b"x"),
            ProtocolError::UnexpectedContinuation,
        );
        let mut bytes = frame(role, false, 0, 1, b"a");
        bytes.extend(frame(role, true, 0, 2, b"b"));
        assert_fails(role, &bytes, ProtocolError::ExpectedContinuation);
    }
}

#[test]
fn control_frames_interleave_inside_fragmented_messages() {
    for role in ROLES {
        let mut bytes = frame(role, false, 0, 1, b"Hel");
        bytes.extend(frame(role, true, 0, 9, b"ping"));
        bytes.extend(frame(role, false, 0, 0, b"l"));
        bytes.extend(frame(role, true, 0, 10, b"pong"));
        bytes.extend(frame(role, true, 0, 0, b"o"));
        let mut c = conn(role);
        let (events, err) = feed(&mut c, &bytes);
        assert_eq!(err, None);
        let kinds: Vec<String> = events
            .iter()
            .map(|e| match e {
                Event::Data(d) => format!(
                    "{}{}",
                    String::from_utf8_lossy(&d.payload),
                    if d.message_end { "!" } else { "" }
                ),
                Event::Ping(p) => format!("ping:{}", String::from_utf8_lossy(p)),
                Event::Pong(p) => format!("pong:{}", String::from_utf8_lossy(p)),
                Event::Close(_) => "close".into(),
            })
            .collect();
        assert_eq!(kinds, ["Hel", "ping:ping", "l", "pong:pong", "o!"]);
    }
}

#[test]
fn invalid_utf8_fails_at_the_first_bad_fragment() {
    for role in ROLES {
        let mut c = conn(role);
        // "κόσμε" then the start of a 4-byte sequence cut across fragments.
        let (events, err) = feed(&mut c, &frame(role, false, 0, 1, "κόσμε".as_bytes()));
        assert_eq!((events.len(), err), (1, None));
        let (_, err) = feed(&mut c, &frame(role, false, 0, 0, b"\xf4"));
        assert_eq!(err, None, "a valid prefix is not yet an error");
        // 0xf4 0x90 is above U+10FFFF: fails now, before the message ends.
        let (_, err) = feed(&mut c, &frame(role, false, 0, 0, b"\x90\x80\x80"));
        assert_eq!(
            err,
            Some(ConnectionError::Protocol(ProtocolError::InvalidUtf8))
        );
        assert_eq!(
            queued_close(&mut c).unwrap().code,
            CloseCode::INVALID_PAYLOAD
        );
    }
}

#[test]
fn invalid_utf8_fails_inside_a_frame_before_it_completes() {
    for role in ROLES {
        // 0xe0 may start a sequence; 0xe0 0x80 is an overlong encoding.
        let bytes = frame(
            role,
            true,
            0,
            1,
            b"valid text then \xe0\x80 and more text after",
        );
        let mut c = conn(role);
        let mut input = BytesMut::new();
        let bad_at = bytes.len() - b"\x80 and more text after".len();
        input.extend_from_slice(&bytes[..bad_at]);
        assert_eq!(c.recv(&mut input), Ok(None));
        input.extend_from_slice(&bytes[bad_at..bad_at + 1]);
        assert_eq!(
            c.recv(&mut input),
            Err(ConnectionError::Protocol(ProtocolError::InvalidUtf8))
        );
    }
}

#[test]
fn text_ending_inside_a_code_point_fails() {
    for role in ROLES {
        assert_fails(
            role,
            &frame(role, true, 0, 1, b"ok\xe2\x82"),
            ProtocolError::InvalidUtf8,
        );
    }
}

#[test]
fn close_payload_rules() {
    for role in ROLES {
        assert_fails(
            role,
            &frame(role, true, 0, 8, &[3]),
            ProtocolError::TruncatedClosePayload,
        );
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            let payload = code.to_be_bytes();
            assert_fails(
                role,
                &frame(role, true, 0, 8, &payload),
                ProtocolError::InvalidCloseCode(code),
            );
        }
        assert_fails(
            role,
            &frame(role, true, 0, 8, b"\x03\xe8\xff"),
            ProtocolError::InvalidCloseReason,
        );
    }
}

#[test]
fn a_remote_close_is_echoed_and_later_frames_are_ignored() {
    for role in ROLES {
        let mut c = conn(role);
        let mut bytes = frame(role, true, 0, 8, b"\x0f\xa0bye");
        bytes.extend(frame(role, true, 0, 1, b"after close"));
        let (events, err) = feed(&mut c, &bytes);
        assert_eq!(err, None);
        assert_eq!(
            events,
            vec![Event::Close(Some(CloseFrame::new(4000, "bye")))]
        );
        assert_eq!(c.state(), State::ClosingRemote);
        assert_eq!(queued_close(&mut c), Some(CloseFrame::new(4000, "bye")));
        let n = c.poll_transmit(Instant::now()).len();
        c.advance_transmit(n);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(
            c.send(MessageKind::Text, b"x"),
            Err(ropeway_core::UsageError::AlreadyClosing)
        );
    }
}

#[test]
fn an_empty_close_is_answered_with_an_empty_close() {
    for role in ROLES {
        let mut c = conn(role);
        let (events, _) = feed(&mut c, &frame(role, true, 0, 8, b""));
        assert_eq!(events, vec![Event::Close(None)]);
        let out = c.poll_transmit(Instant::now());
        assert_eq!(
            &out[..2],
            &[0x88, if role == Role::Client { 0x80 } else { 0x00 }]
        );
    }
}

#[test]
fn frame_and_message_limits_answer_1009() {
    let mut config = Config::default();
    config.limits.max_frame_size = 100;
    config.limits.max_message_size = 150;
    for role in ROLES {
        let mut c = conn_with(role, config);
        let (_, err) = feed(&mut c, &frame(role, true, 0, 2, &[0; 101]));
        assert_eq!(
            err,
            Some(ConnectionError::Protocol(ProtocolError::FrameTooLarge {
                len: 101,
                max: 100
            }))
        );
        assert_eq!(
            queued_close(&mut c).unwrap().code,
            CloseCode::MESSAGE_TOO_BIG
        );

        let mut c = conn_with(role, config);
        let mut bytes = frame(role, false, 0, 2, &[0; 100]);
        bytes.extend(frame(role, true, 0, 0, &[0; 51]));
        let (events, err) = feed(&mut c, &bytes);
        assert_eq!(events.len(), 1, "the first fragment was within the limit");
        assert_eq!(
            err,
            Some(ConnectionError::Protocol(ProtocolError::MessageTooLarge {
                max: 150
            }))
        );
    }
}

#[test]
fn the_limit_is_checked_before_the_payload_is_buffered() {
    for role in ROLES {
        let mut c = conn(role);
        // A header announcing 2^62 bytes fails at once: nothing waits for the payload.
        let mut bytes = vec![0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0];
        if role == Role::Server {
            bytes[1] |= 0x80;
            bytes.extend([1, 2, 3, 4]);
        }
        let (_, err) = feed(&mut c, &bytes);
        assert!(matches!(
            err,
            Some(ConnectionError::Protocol(
                ProtocolError::FrameTooLarge { .. }
            ))
        ));
    }
}

#[test]
fn usage_errors_for_close_codes_and_reasons() {
    for role in ROLES {
        let mut c = conn(role);
        for code in [1005u16, 1006, 1015, 999, 2000, 5000] {
            assert_eq!(
                c.close(Some(CloseFrame::new(code, ""))),
                Err(ropeway_core::UsageError::InvalidCloseCode(code))
            );
        }
        let long = "x".repeat(124);
        assert_eq!(
            c.close(Some(CloseFrame::new(1000, long))),
            Err(ropeway_core::UsageError::CloseReasonTooLong(124))
        );
        assert_eq!(c.state(), State::Open);
    }
}

#[test]
fn client_output_is_masked_and_server_output_is_not() {
    let now = Instant::now();
    let mut server = Connection::server(Config::default(), now);
    server.send(MessageKind::Text, b"Hello").unwrap();
    assert_eq!(
        server.poll_transmit(now),
        &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']
    );

    let mut client = Connection::client(Config::default(), Box::new(FixedKey), now);
    client.send(MessageKind::Text, b"Hello").unwrap();
    // RFC 6455 §5.7: a single-frame masked text message.
    assert_eq!(
        client.poll_transmit(now),
        &[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
        ]
    );
}

struct FixedKey;
impl ropeway_core::Entropy for FixedKey {
    fn fill(&mut self, dest: &mut [u8]) {
        for (d, k) in dest.iter_mut().zip([0x37, 0xfa, 0x21, 0x3d].iter().cycle()) {
            *d = *k;
        }
    }
}

#[test]
fn a_protocol_error_after_valid_frames_reports_them_first() {
    for role in ROLES {
        let mut bytes = frame(role, true, 0, 1, b"one");
        bytes.extend(frame(role, true, 0, 2, b"two"));
        bytes.extend(frame(role, true, 0, 3, b""));
        let mut c = conn(role);
        let (events, err) = feed(&mut c, &bytes);
        assert_eq!(events.len(), 2);
        assert_eq!(
            err,
            Some(ConnectionError::Protocol(ProtocolError::ReservedOpcode(3)))
        );
        // What the application queued in answer goes out before the close frame.
        let mut c = conn(role);
        let mut input = BytesMut::from(&bytes[..]);
        while let Ok(Some(Event::Data(d))) = c.recv(&mut input) {
            c.send(d.kind, &d.payload).unwrap();
        }
        let out = c.poll_transmit(Instant::now()).to_vec();
        let close_at = out.iter().position(|&b| b == 0x88).unwrap();
        assert!(close_at >= 2 * 5, "two echoes precede the close");
    }
}
