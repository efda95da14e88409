//! Regression tests for what the fuzz targets in `fuzz/` found. Each replays the minimized
//! input: the bytes the peer sent (as a literal) and the calls the target made, in order.

use std::time::{Duration, Instant};

use ropeway_core::{
    Bytes, BytesMut, Config, Connection, ConnectionError, Event, SeededEntropy, State,
};

/// `connection_client` input `81 11 | 89 00 | …` (found by the fuzzer, minimized): a server's
/// empty ping leaves a pong owed; the transport blocks, the write stall timeout ends the
/// connection, and no pong may be sent any more. `queued_output` went on counting the owed
/// pong while `poll_transmit` offered nothing, so a caller writing until the queue is empty
/// would spin forever. Now the owed pong is dropped once the connection is no longer open.
#[test]
fn owed_pong_is_dropped_when_the_write_stall_timeout_ends_the_connection() {
    let now = Instant::now();
    let mut client = Connection::client(
        Config::default(),
        Box::new(SeededEntropy::from_seed([9; 32])),
        now,
    );
    let mut input = BytesMut::from(&[0x89, 0x00][..]);
    assert_eq!(client.recv(&mut input), Ok(Some(Event::Ping(Bytes::new()))));
    // The transport takes nothing; two minutes later the write stall timer has fired.
    client.handle_write_blocked(now);
    let later = now + Duration::from_secs(120);
    client.handle_timeout(later);
    assert_eq!(client.error(), Some(&ConnectionError::WriteStalled));
    assert_eq!(client.state(), State::Closed);
    let offered = client.poll_transmit(later).len();
    assert_eq!(
        offered,
        client.queued_output(),
        "poll_transmit offers everything queued_output counts"
    );
    assert_eq!(client.queued_output(), 0);
}

/// The same owed pong, with the transport ending right after the ping (both arrive in one
/// read): the connection ends abnormally and the pong can no longer be sent.
#[test]
fn owed_pong_is_dropped_when_the_transport_ends_after_a_ping() {
    let now = Instant::now();
    let mut server = Connection::server(Config::default(), now);
    // A masked empty ping from a client, then end of stream.
    let mut input = BytesMut::from(&[0x89, 0x80, 1, 2, 3, 4][..]);
    assert_eq!(server.recv(&mut input), Ok(Some(Event::Ping(Bytes::new()))));
    server.handle_eof();
    assert_eq!(server.recv(&mut input), Err(ConnectionError::Abnormal));
    let offered = server.poll_transmit(now).len();
    assert_eq!(
        offered,
        server.queued_output(),
        "poll_transmit offers everything queued_output counts"
    );
    assert_eq!(server.queued_output(), 0);
    assert!(server.is_terminated());
}
