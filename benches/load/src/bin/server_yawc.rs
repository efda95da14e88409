//! Echo server on yawc: the hyper upgrade with `upgrade_with_options`, then
//! the `Stream` + `Sink` loop over frames. `--deflate` turns on yawc's
//! permessage-deflate with the same settings as ropeway's.
//!
//! `--broadcast`: the hyper service sees the path and subscribes before answering 101. The
//! publisher's payloads go through the shared hub as `Bytes` (yawc's frames hold `Bytes`:
//! no copy); each subscriber's task sends them as binary frames while reading from its peer
//! with `next` (a `Stream`: cancellation-safe).

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use ropeway_bench_load::server::{self, DEFLATE_LEVEL, MAX_FRAME_SIZE, MAX_MESSAGE_SIZE, Role};
use yawc::frame::{Frame, OpCode};
use yawc::{CompressionLevel, Options, WebSocket};

fn options() -> Options {
    // yawc's limits are exclusive (+1 makes exactly 64 MiB acceptable); UTF-8
    // validation is off by default and compression is off unless asked for.
    Options::default()
        .with_max_payload_read(MAX_FRAME_SIZE + 1)
        .with_max_read_buffer(MAX_MESSAGE_SIZE + 1)
        .with_utf8()
        .with_no_delay()
}

fn main() {
    server::run_modes(
        "yawc",
        |args| {
            let mut options = options();
            if args.deflate {
                // The shared level and every message compressed (threshold 0, yawc's default,
                // spelled out). No window parameters: yawc then uses 15-bit windows and, as
                // no `server_no_context_takeover` is set, keeps its compression context.
                options = options
                    .with_compression_level(CompressionLevel::new(DEFLATE_LEVEL))
                    .with_compression_threshold(0);
            }
            move |stream| {
                let options = options.clone();
                server::serve_upgrades(stream, move |mut req| {
                    let (response, upgrade) =
                        WebSocket::upgrade_with_options(&mut req, options.clone())?;
                    server::spawn(async move {
                        let Ok(mut ws) = upgrade.await else { return };
                        // With permessage-deflate, frames come out of `next` inflated and
                        // `send` compresses them again.
                        while let Some(frame) = ws.next().await {
                            let echo = matches!(frame.opcode(), OpCode::Text | OpCode::Binary);
                            if echo && ws.send(frame).await.is_err() {
                                break;
                            }
                        }
                    });
                    Ok(response)
                })
            }
        },
        |_| {
            let hub = server::hub::<Bytes>();
            move |stream| {
                let hub = hub.clone();
                server::serve_upgrades(stream, move |mut req| {
                    let role = Role::of(req.uri().path()).ok_or("unknown path")?;
                    let (response, upgrade) = WebSocket::upgrade_with_options(&mut req, options())?;
                    let hub = hub.clone();
                    let mut receiver = (role == Role::Subscriber).then(|| hub.subscribe());
                    server::spawn(async move {
                        let Ok(mut ws) = upgrade.await else { return };
                        match receiver.as_mut() {
                            None => {
                                while let Some(frame) = ws.next().await {
                                    if frame.opcode() == OpCode::Binary {
                                        let _ = hub.send(frame.into_payload());
                                    }
                                }
                            }
                            Some(receiver) => loop {
                                tokio::select! {
                                    published = receiver.recv() => match published {
                                        Ok(payload) => {
                                            if ws.send(Frame::binary(payload)).await.is_err() {
                                                break;
                                            }
                                        }
                                        Err(_) => break,
                                    },
                                    received = ws.next() => if received.is_none() {
                                        break;
                                    },
                                }
                            },
                        }
                    });
                    Ok(response)
                })
            }
        },
    )
}
