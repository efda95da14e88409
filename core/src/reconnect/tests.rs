//! The schedule and the verdicts on a virtual clock: `Instant`s and dates are made up, no
//! test sleeps.

use std::io;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, StatusCode};

use super::*;
use crate::driver::{Error, TlsError, TlsErrorKind};
use crate::entropy::{SeededEntropy, ZeroEntropy};
use crate::error::{ConnectionError, ProtocolError, UsageError};
use crate::handshake::HandshakeError;
use crate::proxy::{ProxyError, SocksReply};
use crate::{CloseFrame, Message};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn exact(initial: u64, max: u64) -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay: ms(initial),
        max_delay: ms(max),
        jitter: 0.0,
        ..ReconnectPolicy::default()
    }
}

fn io_error(kind: io::ErrorKind) -> Disconnect {
    Disconnect::Failed(io::Error::from(kind).into())
}

fn refused() -> Disconnect {
    io_error(io::ErrorKind::ConnectionRefused)
}

fn rejected(status: u16, retry_after: Option<&str>) -> Disconnect {
    let mut headers = HeaderMap::new();
    if let Some(value) = retry_after {
        headers.insert("retry-after", value.parse().expect("a header value"));
    }
    Disconnect::Failed(Error::Handshake(HandshakeError::Rejected {
        status: StatusCode::from_u16(status).expect("a status"),
        headers: Box::new(headers),
    }))
}

fn closed(code: u16) -> Disconnect {
    Disconnect::Closed(Some(CloseFrame::new(code, "")))
}

/// The delay the schedule answers, panicking on a stop.
fn retry(backoff: &mut Backoff, why: &Disconnect, now: Instant) -> Duration {
    match backoff.disconnected(why, now, SystemTime::UNIX_EPOCH, &mut ZeroEntropy) {
        Decision::Retry { at, delay, .. } => {
            assert_eq!(at, now + delay, "the deadline is the drop plus the delay");
            delay
        }
        Decision::Stop(stop) => panic!("stopped ({stop:?}) on {why}"),
    }
}

#[test]
fn delays_grow_by_the_factor_from_the_initial_delay_up_to_the_cap() {
    let mut backoff = Backoff::new(exact(100, 1000));
    let mut now = Instant::now();
    let mut delays = Vec::new();
    for _ in 0..7 {
        let delay = retry(&mut backoff, &refused(), now);
        delays.push(delay.as_millis());
        now += delay;
    }
    assert_eq!(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
}

#[test]
fn a_factor_of_three_and_a_factor_below_one_counted_as_one() {
    let mut backoff = Backoff::new(ReconnectPolicy {
        factor: 3.0,
        ..exact(10, 1000)
    });
    let now = Instant::now();
    let delays: Vec<_> = (0..4)
        .map(|_| retry(&mut backoff, &refused(), now).as_millis())
        .collect();
    assert_eq!(delays, [10, 30, 90, 270]);
    let mut flat = Backoff::new(ReconnectPolicy {
        factor: 0.5,
        ..exact(10, 1000)
    });
    let delays: Vec<_> = (0..3)
        .map(|_| retry(&mut flat, &refused(), now).as_millis())
        .collect();
    assert_eq!(delays, [10, 10, 10]);
}

#[test]
fn the_cap_holds_after_many_failures_without_overflow() {
    let mut backoff = Backoff::new(exact(500, 30_000));
    let now = Instant::now();
    for _ in 0..10_000 {
        assert!(retry(&mut backoff, &refused(), now) <= ms(30_000));
    }
    assert_eq!(retry(&mut backoff, &refused(), now), ms(30_000));
}

#[test]
fn jitter_shortens_each_delay_by_at_most_its_share_and_varies() {
    let mut entropy = SeededEntropy::from_seed([7; 32]);
    let policy = ReconnectPolicy {
        jitter: 0.5,
        ..exact(1000, 1000)
    };
    let mut backoff = Backoff::new(policy);
    let now = Instant::now();
    let delays: Vec<Duration> = (0..1000)
        .map(|_| {
            match backoff.disconnected(&refused(), now, SystemTime::UNIX_EPOCH, &mut entropy) {
                Decision::Retry { delay, .. } => delay,
                Decision::Stop(stop) => panic!("{stop:?}"),
            }
        })
        .collect();
    assert!(delays.iter().all(|d| (ms(500)..=ms(1000)).contains(d)));
    let (min, max) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
    assert!(*min < ms(550) && *max > ms(950), "spread {min:?}..{max:?}");
}

#[test]
fn full_jitter_spans_zero_to_the_delay_and_out_of_range_jitter_is_clamped() {
    for (jitter, low) in [(1.0, 0), (7.0, 0), (-1.0, 1000), (f64::NAN, 1000)] {
        let mut entropy = SeededEntropy::from_seed([3; 32]);
        let mut backoff = Backoff::new(ReconnectPolicy {
            jitter,
            ..exact(1000, 1000)
        });
        for _ in 0..200 {
            let decision = backoff.disconnected(
                &refused(),
                Instant::now(),
                SystemTime::UNIX_EPOCH,
                &mut entropy,
            );
            let Decision::Retry { delay, .. } = decision else {
                panic!("{decision:?}")
            };
            assert!((ms(low)..=ms(1000)).contains(&delay), "{jitter}: {delay:?}");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    let now = Instant::now();
    let run = || {
        let mut entropy = SeededEntropy::from_seed([9; 32]);
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        (0..10)
            .map(|_| backoff.disconnected(&refused(), now, SystemTime::UNIX_EPOCH, &mut entropy))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn retry_after_seconds_on_503_and_429_lengthens_the_wait_but_never_shortens_it() {
    let now = Instant::now();
    let mut backoff = Backoff::new(exact(100, 1000));
    assert_eq!(
        retry(&mut backoff, &rejected(503, Some("7")), now),
        ms(7000)
    );
    assert_eq!(
        retry(&mut backoff, &rejected(429, Some("3")), now),
        ms(3000)
    );
    // The backoff (400 ms by now) is longer than a Retry-After of 0.
    assert_eq!(retry(&mut backoff, &rejected(503, Some("0")), now), ms(400));
    // Without the header, or one that is neither seconds nor a date: the backoff alone.
    assert_eq!(retry(&mut backoff, &rejected(503, None), now), ms(800));
    assert_eq!(
        retry(&mut backoff, &rejected(503, Some("soon")), now),
        ms(1000)
    );
    // Only 429 and 503 carry it: a 502's Retry-After is not asked for.
    assert_eq!(
        retry(&mut backoff, &rejected(502, Some("60")), now),
        ms(1000)
    );
}

#[test]
fn retry_after_as_an_http_date_counts_from_the_wall_clock() {
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    let mut headers = HeaderMap::new();
    headers.insert(
        "retry-after",
        "Sun, 06 Nov 1994 08:50:07 GMT".parse().unwrap(),
    );
    assert_eq!(retry_after(&headers, date), Some(Duration::from_secs(30)));
    // A date already past asks for no wait.
    assert_eq!(
        retry_after(&headers, date + Duration::from_secs(60)),
        Some(Duration::ZERO)
    );
    let mut backoff = Backoff::new(exact(100, 1000));
    let why = rejected(503, Some("Sun, 06 Nov 1994 08:50:07 GMT"));
    let decision = backoff.disconnected(&why, Instant::now(), date, &mut ZeroEntropy);
    assert!(matches!(decision, Decision::Retry { delay, .. } if delay == Duration::from_secs(30)));
}

#[test]
fn retry_after_is_capped_by_max_retry_after_even_when_huge() {
    let mut backoff = Backoff::new(ReconnectPolicy {
        max_retry_after: Duration::from_secs(60),
        ..exact(100, 1000)
    });
    let now = Instant::now();
    assert_eq!(
        retry(&mut backoff, &rejected(503, Some("86400")), now),
        Duration::from_secs(60)
    );
    let huge = rejected(429, Some("99999999999999999999999999"));
    assert_eq!(retry(&mut backoff, &huge, now), Duration::from_secs(60));
}

#[test]
fn a_connection_that_stayed_up_long_enough_resets_the_backoff() {
    let mut backoff = Backoff::new(ReconnectPolicy {
        stable_after: Duration::from_secs(10),
        ..exact(100, 10_000)
    });
    let mut now = Instant::now();
    for _ in 0..4 {
        now += retry(&mut backoff, &refused(), now);
    }
    assert_eq!(backoff.failures(), 4);
    backoff.connected(now);
    now += Duration::from_secs(10);
    assert_eq!(retry(&mut backoff, &closed(1012), now), ms(100));
    assert_eq!(backoff.failures(), 1);
}

#[test]
fn a_connection_dropped_before_it_was_stable_keeps_the_backoff_growing() {
    let mut backoff = Backoff::new(exact(100, 10_000));
    let mut now = Instant::now();
    for expected in [100, 200, 400, 800] {
        let delay = retry(&mut backoff, &closed(1006), now);
        assert_eq!(delay, ms(expected));
        now += delay;
        // Accepted, then dropped a second later: a flapping server.
        backoff.connected(now);
        now += Duration::from_secs(1);
    }
}

#[test]
fn max_attempts_gives_up_after_that_many_failures_in_a_row() {
    let mut backoff = Backoff::new(ReconnectPolicy {
        max_attempts: Some(3),
        ..exact(100, 1000)
    });
    let now = Instant::now();
    retry(&mut backoff, &refused(), now);
    retry(&mut backoff, &refused(), now);
    assert_eq!(
        backoff.disconnected(&refused(), now, SystemTime::UNIX_EPOCH, &mut ZeroEntropy),
        Decision::Stop(Stop::Exhausted { attempts: 3 })
    );
}

#[test]
fn a_fatal_cause_stops_at_once_whatever_the_attempts_left() {
    let mut backoff = Backoff::new(ReconnectPolicy::default());
    let decision = backoff.disconnected(
        &rejected(403, None),
        Instant::now(),
        SystemTime::UNIX_EPOCH,
        &mut ZeroEntropy,
    );
    assert_eq!(decision, Decision::Stop(Stop::Fatal));
}

/// The give-up rules, one row per cause.
fn proxy(error: ProxyError) -> Disconnect {
    Disconnect::Failed(Error::Proxy(error))
}

fn proxy_status(status: u16) -> Disconnect {
    proxy(ProxyError::HttpRefused {
        status,
        reason: String::new(),
        authenticate: None,
    })
}

#[test]
fn give_up_rules() {
    use io::ErrorKind::*;
    let transient = Verdict::Transient { not_before: None };
    let tls = |kind| Disconnect::Failed(Error::Tls(TlsError::from_kind(kind)));
    let table: Vec<(&str, Disconnect, Verdict)> = vec![
        ("connection refused", io_error(ConnectionRefused), transient),
        ("connection reset", io_error(ConnectionReset), transient),
        ("connection aborted", io_error(ConnectionAborted), transient),
        ("timed out (I/O)", io_error(TimedOut), transient),
        ("unexpected EOF", io_error(UnexpectedEof), transient),
        ("host unreachable", io_error(HostUnreachable), transient),
        (
            "DNS failure",
            Disconnect::Failed(io::Error::other("failed to lookup address").into()),
            transient,
        ),
        ("invalid address", io_error(InvalidInput), Verdict::Fatal),
        (
            "connect timeout",
            Disconnect::Failed(Error::ConnectTimeout),
            transient,
        ),
        (
            "handshake timeout",
            Disconnect::Failed(Error::HandshakeTimeout),
            transient,
        ),
        ("500", rejected(500, None), transient),
        ("502", rejected(502, None), transient),
        ("504", rejected(504, None), transient),
        ("408", rejected(408, None), transient),
        ("429", rejected(429, None), transient),
        (
            "503 + Retry-After",
            rejected(503, Some("5")),
            Verdict::Transient {
                not_before: Some(Duration::from_secs(5)),
            },
        ),
        (
            "proxy down",
            proxy(ProxyError::Unreachable {
                proxy: "proxy:3128".into(),
                error: std::sync::Arc::new(io::Error::from(ConnectionRefused)),
            }),
            transient,
        ),
        ("proxy timeout", proxy(ProxyError::Timeout), transient),
        (
            "proxy closed early",
            proxy(ProxyError::ClosedEarly),
            transient,
        ),
        ("proxy 502", proxy_status(502), transient),
        ("proxy 407", proxy_status(407), Verdict::Fatal),
        ("proxy 403", proxy_status(403), Verdict::Fatal),
        (
            "SOCKS host unreachable",
            proxy(ProxyError::SocksRefused(SocksReply::from_code(4))),
            transient,
        ),
        (
            "SOCKS not allowed by ruleset",
            proxy(ProxyError::SocksRefused(SocksReply::from_code(2))),
            Verdict::Fatal,
        ),
        (
            "SOCKS credentials rejected",
            proxy(ProxyError::SocksAuthRejected),
            Verdict::Fatal,
        ),
        (
            "proxy speaks garbage",
            proxy(ProxyError::Garbage("x")),
            Verdict::Fatal,
        ),
        ("400", rejected(400, None), Verdict::Fatal),
        ("401 bad credentials", rejected(401, None), Verdict::Fatal),
        ("403", rejected(403, None), Verdict::Fatal),
        ("404", rejected(404, None), Verdict::Fatal),
        ("426", rejected(426, None), Verdict::Fatal),
        ("301 (not followed)", rejected(301, None), Verdict::Fatal),
        ("200 (no upgrade)", rejected(200, None), Verdict::Fatal),
        (
            "invalid URL",
            Disconnect::Failed(HandshakeError::InvalidUrl("x".into()).into()),
            Verdict::Fatal,
        ),
        (
            "wrong accept key",
            Disconnect::Failed(HandshakeError::InvalidAccept.into()),
            Verdict::Fatal,
        ),
        (
            "TLS on a plain URL",
            Disconnect::Failed(HandshakeError::ServerSpeaksTls.into()),
            Verdict::Fatal,
        ),
        (
            "untrusted certificate",
            tls(TlsErrorKind::Handshake),
            Verdict::Fatal,
        ),
        (
            "plain on a wss URL",
            tls(TlsErrorKind::ServerSpeaksPlain),
            Verdict::Fatal,
        ),
        (
            "usage error",
            Disconnect::Failed(UsageError::AlreadyClosing.into()),
            Verdict::Fatal,
        ),
        (
            "abnormal closure",
            Disconnect::Failed(ConnectionError::Abnormal.into()),
            transient,
        ),
        (
            "dead peer",
            Disconnect::Failed(ConnectionError::KeepAliveTimeout.into()),
            transient,
        ),
        (
            "write stalled",
            Disconnect::Failed(ConnectionError::WriteStalled.into()),
            transient,
        ),
        (
            "close timeout",
            Disconnect::Failed(ConnectionError::CloseTimeout.into()),
            transient,
        ),
        (
            "peer broke the protocol (1002)",
            Disconnect::Failed(ConnectionError::Protocol(ProtocolError::MaskedFrame).into()),
            Verdict::Fatal,
        ),
        (
            "message over our limit (1009)",
            Disconnect::Failed(
                ConnectionError::Protocol(ProtocolError::MessageTooLarge { max: 1 }).into(),
            ),
            Verdict::Fatal,
        ),
        (
            "ended, cause reported before",
            Disconnect::Failed(Error::Closed),
            transient,
        ),
        ("server close 1000", closed(1000), transient),
        ("server close 1001 going away", closed(1001), transient),
        (
            "server close without a code",
            Disconnect::Closed(None),
            transient,
        ),
        ("server close 1011", closed(1011), transient),
        ("server close 1012 restart", closed(1012), transient),
        ("server close 1013 try again later", closed(1013), transient),
        ("server close 1014 bad gateway", closed(1014), transient),
        ("server close 1002", closed(1002), Verdict::Fatal),
        ("server close 1003", closed(1003), Verdict::Fatal),
        ("server close 1007", closed(1007), Verdict::Fatal),
        ("server close 1008 policy", closed(1008), Verdict::Fatal),
        ("server close 1009", closed(1009), Verdict::Fatal),
        ("server close 1010", closed(1010), Verdict::Fatal),
        (
            "server close 4000 (application's)",
            closed(4000),
            Verdict::Fatal,
        ),
    ];
    let wrong: Vec<_> = table
        .iter()
        .filter(|(_, why, expected)| classify(why, SystemTime::UNIX_EPOCH) != *expected)
        .map(|(name, why, expected)| format!("{name}: {why} expected {expected:?}"))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_watch_delivers_messages_and_reports_the_close_once_the_connection_ended() {
    let mut watch = Watch::new();
    assert!(
        matches!(watch.recv(Some(Ok(Message::text("a")))), Seen::Deliver(m) if m.as_text() == Some("a"))
    );
    let close = Some(Ok(Message::Close(Some(CloseFrame::new(1012, "restart")))));
    assert!(matches!(watch.recv(close), Seen::ReadOn));
    // A later error does not hide the close that came first.
    assert!(matches!(
        watch.recv(Some(Err(ConnectionError::CloseTimeout.into()))),
        Seen::ReadOn
    ));
    match watch.recv(None) {
        Seen::Ended(Disconnect::Closed(Some(frame))) => assert_eq!(frame.code.0, 1012),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_watch_reports_the_error_that_ended_the_connection() {
    let mut watch = Watch::new();
    assert!(matches!(
        watch.recv(Some(Err(ConnectionError::Abnormal.into()))),
        Seen::ReadOn
    ));
    assert!(matches!(
        watch.recv(None),
        Seen::Ended(Disconnect::Failed(Error::Connection(
            ConnectionError::Abnormal
        )))
    ));
    assert!(matches!(
        Watch::new().recv(None),
        Seen::Ended(Disconnect::Failed(Error::Closed))
    ));
}

#[test]
fn the_event_after_a_decision() {
    let now = Instant::now();
    let retry = Decision::Retry {
        at: now + ms(5),
        delay: ms(5),
        attempt: 2,
    };
    assert!(matches!(
        Reconnect::after(closed(1012), retry),
        Reconnect::Disconnected { retry_in, attempt: 2, .. } if retry_in == ms(5)
    ));
    assert!(matches!(
        Reconnect::after(closed(1008), Decision::Stop(Stop::Fatal)),
        Reconnect::Stopped {
            stop: Stop::Fatal,
            ..
        }
    ));
    let not_sent = NotSent::Disconnected(Message::text("x"));
    assert_eq!(not_sent.into_message().as_text(), Some("x"));
}
