//! Rooms across sample processes (issue #23): three `ropeway-echo` processes, one per
//! runtime (tokio, smol, mio), joined by `--backplane` to a real redis-server started on a
//! free loopback port. A member's text reaches the room's members on every process and
//! nobody in another room; with Redis killed, each process still serves its own rooms, and
//! after Redis is back, messages cross processes again within seconds and the loss is
//! logged. Linux only; loopback only; bounded in time.

#![cfg(target_os = "linux")]

#[path = "../../../backplane/redis/tests/support/redis_server.rs"]
mod redis_server;
mod sample;

use std::time::{Duration, Instant};

use redis_server::RedisServer;
use ropeway_tokio::{MaybeTlsStream, Message, WebSocket};
use sample::Server;

type Member = WebSocket<MaybeTlsStream>;

/// How long a message may take to cross processes before the test gives up on it.
const CROSSING: Duration = Duration::from_secs(5);

async fn member(server: &Server, room: &str) -> Member {
    let url = format!("ws://{}/room?name={room}", server.addr);
    ropeway_tokio::connect(&url).await.expect("join").0
}

/// The next text `ws` hears within `limit`, if any.
async fn heard_within(ws: &mut Member, limit: Duration) -> Option<String> {
    match tokio::time::timeout(limit, ws.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => Some(text.as_str().to_owned()),
        Ok(other) => panic!("expected a text message, got {other:?}"),
        Err(_) => None,
    }
}

/// `from` says `text` until every one of `to` hears it (a group's channel is subscribed
/// within moments of its first member joining; until then messages for it are lost, as
/// the backplane's at-most-once delivery allows).
async fn say_until_heard(from: &mut Member, to: &mut [&mut Member], text: &str) {
    let deadline = Instant::now() + CROSSING;
    let mut heard = vec![false; to.len()];
    let mut attempt = 0;
    while !heard.iter().all(|h| *h) {
        assert!(
            Instant::now() < deadline,
            "{text:?} never reached every member: {heard:?}"
        );
        attempt += 1;
        let said = format!("{text} #{attempt}");
        from.send(Message::text(said.clone())).await.expect("send");
        assert_eq!(
            heard_within(from, CROSSING).await.as_deref(),
            Some(said.as_str())
        );
        for (i, ws) in to.iter_mut().enumerate() {
            // Earlier attempts may arrive too, and so may a message said while Redis was
            // down if its publisher had not noticed yet; which room hears what is checked
            // by `hears_nothing`.
            while let Some(got) = heard_within(ws, Duration::from_millis(300)).await {
                heard[i] |= got == said;
            }
        }
    }
}

/// Asserts `ws` hears nothing (within a moment).
async fn hears_nothing(ws: &mut Member) {
    let got = heard_within(ws, Duration::from_millis(300)).await;
    assert_eq!(got, None, "a member of another room heard something");
}

#[test]
fn rooms_span_processes_on_every_runtime_and_survive_a_redis_restart() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let args = ["--backplane", url.as_str()];
    let servers: Vec<Server> = ["tokio", "smol", "mio"]
        .iter()
        .map(|runtime| Server::start_with(runtime, None, &args))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut on_tokio = member(&servers[0], "plaza").await;
        let mut on_smol = member(&servers[1], "plaza").await;
        let mut on_mio = member(&servers[2], "plaza").await;
        let mut elsewhere = member(&servers[0], "attic").await;
        let mut elsewhere_on_mio = member(&servers[2], "attic").await;

        // Every process's member reaches the others, whatever runtime each runs on.
        say_until_heard(
            &mut on_tokio,
            &mut [&mut on_smol, &mut on_mio],
            "from tokio",
        )
        .await;
        say_until_heard(&mut on_smol, &mut [&mut on_tokio, &mut on_mio], "from smol").await;
        say_until_heard(&mut on_mio, &mut [&mut on_tokio, &mut on_smol], "from mio").await;
        hears_nothing(&mut elsewhere).await;
        hears_nothing(&mut elsewhere_on_mio).await;
        // The other room crosses too, and the plaza hears none of it.
        say_until_heard(&mut elsewhere, &mut [&mut elsewhere_on_mio], "attic").await;
        hears_nothing(&mut on_smol).await;

        // Redis goes away: each process still serves its own rooms.
        redis.kill();
        let mut second_on_tokio = member(&servers[0], "plaza").await;
        say_until_heard(
            &mut on_tokio,
            &mut [&mut second_on_tokio],
            "local while down",
        )
        .await;
        // What crosses nothing meanwhile is lost (at most once), not queued forever.
        on_smol
            .send(Message::text("lost while down"))
            .await
            .expect("send");
        assert_eq!(
            heard_within(&mut on_smol, CROSSING).await.as_deref(),
            Some("lost while down")
        );

        // Redis is back: the backplanes reconnect with backoff and resubscribe.
        redis.restart();
        say_until_heard(
            &mut on_mio,
            &mut [&mut on_tokio, &mut second_on_tokio, &mut on_smol],
            "after the restart",
        )
        .await;
    });
    let smol_log = servers[1].log().join("\n");
    assert!(
        smol_log.contains("backplane:") && smol_log.contains("disconnected"),
        "the outage is logged: {smol_log}"
    );
}
