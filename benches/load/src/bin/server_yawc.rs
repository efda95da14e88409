//! Echo server on yawc: the hyper upgrade with `upgrade_with_options`, then
//! the `Stream` + `Sink` loop over frames.

use futures_util::{SinkExt, StreamExt};
use ropeway_bench_load::server::{self, MAX_FRAME_SIZE, MAX_MESSAGE_SIZE};
use yawc::frame::OpCode;
use yawc::{Options, WebSocket};

fn main() {
    server::run("yawc", |stream| {
        server::serve_upgrades(stream, |mut req| {
            // yawc's limits are exclusive (+1 makes exactly 64 MiB acceptable); UTF-8
            // validation is off by default and compression is off unless asked for.
            let options = Options::default()
                .with_max_payload_read(MAX_FRAME_SIZE + 1)
                .with_max_read_buffer(MAX_MESSAGE_SIZE + 1)
                .with_utf8()
                .with_no_delay();
            let (response, upgrade) = WebSocket::upgrade_with_options(&mut req, options)?;
            server::spawn(async move {
                let Ok(mut ws) = upgrade.await else { return };
                while let Some(frame) = ws.next().await {
                    let echo = matches!(frame.opcode(), OpCode::Text | OpCode::Binary);
                    if echo && ws.send(frame).await.is_err() {
                        break;
                    }
                }
            });
            Ok(response)
        })
    })
}
