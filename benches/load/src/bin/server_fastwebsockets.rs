//! Echo server on fastwebsockets: the hyper upgrade and a `FragmentCollector`,
//! as in the crate's own `echo_server` example.

use fastwebsockets::{FragmentCollector, OpCode};
use ropeway_bench_load::server::{self, MAX_MESSAGE_SIZE};

fn main() {
    server::run("fastwebsockets", |stream| {
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
    })
}
