//! Echo server on fastwebsockets: the hyper upgrade and a `FragmentCollector`,
//! as in the crate's own `echo_server` example.
//!
//! `--broadcast`: the hyper service sees the path and subscribes before answering 101. The
//! publisher's payloads (copied out of the read buffer once) go through the shared hub as
//! `Bytes`; each subscriber's task writes them with `write_frame` over a borrowed payload
//! (no copy). The subscriber's task only writes: fastwebsockets' `read_frame` is not
//! cancellation-safe, so reading and writing at once needs the `unstable-split` feature and
//! a second task; a write-only subscriber is the lighter choice (a closed peer shows up as a
//! failed write), so this row errs in fastwebsockets' favour.

use bytes::Bytes;
use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload};
use ropeway_bench_load::server::{self, MAX_MESSAGE_SIZE, Role};

fn main() {
    server::run_modes(
        "fastwebsockets",
        |args| {
            server::refuse_deflate("fastwebsockets", args);
            |stream| {
                server::serve_upgrades(stream, |mut req| {
                    let (response, upgrade) = fastwebsockets::upgrade::upgrade(&mut req)?;
                    server::spawn(async move {
                        let Ok(mut ws) = upgrade.await else { return };
                        // fastwebsockets rejects a frame whose length is >= the limit: +1 makes
                        // exactly 64 MiB acceptable, as with the other crates.
                        ws.set_max_message_size(MAX_MESSAGE_SIZE + 1);
                        // The collector reassembles fragments and validates UTF-8 of text messages.
                        let mut ws = FragmentCollector::new(ws);
                        loop {
                            let Ok(frame) = ws.read_frame().await else {
                                break;
                            };
                            let echo = match frame.opcode {
                                OpCode::Close => break,
                                OpCode::Text | OpCode::Binary => true,
                                _ => false,
                            };
                            if echo && ws.write_frame(frame).await.is_err() {
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
                    let (response, upgrade) = fastwebsockets::upgrade::upgrade(&mut req)?;
                    match role {
                        Role::Publisher => {
                            let hub = hub.clone();
                            server::spawn(async move {
                                let Ok(mut ws) = upgrade.await else { return };
                                ws.set_max_message_size(MAX_MESSAGE_SIZE + 1);
                                let mut ws = FragmentCollector::new(ws);
                                while let Ok(frame) = ws.read_frame().await {
                                    match frame.opcode {
                                        OpCode::Close => break,
                                        OpCode::Binary => {
                                            let _ =
                                                hub.send(Bytes::copy_from_slice(&frame.payload));
                                        }
                                        _ => {}
                                    }
                                }
                            });
                        }
                        Role::Subscriber => {
                            let mut receiver = hub.subscribe();
                            server::spawn(async move {
                                let Ok(mut ws) = upgrade.await else { return };
                                while let Ok(payload) = receiver.recv().await {
                                    let frame = Frame::binary(Payload::Borrowed(&payload));
                                    if ws.write_frame(frame).await.is_err() {
                                        break;
                                    }
                                }
                            });
                        }
                    }
                    Ok(response)
                })
            }
        },
    )
}
