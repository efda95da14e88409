//! A hostile peer over loopback (issue 15, item 3): a permessage-deflate bomb under the
//! message limit (16 KiB on the wire that inflates to 16 MiB) is refused with 1009 at the
//! inflate ratio instead of being inflated whole, and ordinary compressed traffic on the same
//! settings still echoes.

use std::sync::Arc;

use crate::prelude::*;
use ropeway_common::ClientConfig;
use ropeway_core::ProtocolError;
use ropeway_core::deflate::{DeflateClient, DeflateConfig, DeflateServer};
use ropeway_core::handshake::ClientRequest;
use ropeway_core::{ConnectionError, Error, Message, ServerConfig};

fn compressing_server() -> ServerConfig {
    let mut config = ServerConfig::default();
    config
        .extensions
        .push(Arc::new(DeflateServer::new(DeflateConfig::default())));
    config
}

async fn compressing_client<T: TestRuntime>(addr: std::net::SocketAddr) -> ClientWs<T> {
    let client = ClientConfig {
        extensions: vec![Arc::new(DeflateClient::new(DeflateConfig {
            // The client is the attacker here: it inflates whatever comes back.
            max_inflate_ratio: None,
            ..DeflateConfig::default()
        }))],
        ..ClientConfig::default()
    };
    let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
    let (ws, _) = T::connect_with(request, &client).await.expect("connect");
    assert_eq!(ws.extensions().len(), 1, "permessage-deflate agreed");
    ws
}

pub async fn a_stream_of_deflate_bombs_is_refused_with_1009_once_the_burst_is_spent<
    T: TestRuntime,
>() {
    let (addr, server) = T::serve_one_ws(compressing_server(), echo).await;
    let mut ws = compressing_client::<T>(addr).await;
    // Ordinary text first: echoed.
    let text = text_of_len(100_000);
    ws.send(Message::text(text.clone())).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text(text));
    // 2 MiB messages of zeros, about 2 KiB compressed each (1,000:1): the first two
    // inflate from the connection's 4 MiB burst and are echoed; once it is spent the next
    // fails with 1009. Before the bucket, every such message was inflated (and echoed).
    let zeros = vec![0u8; 2 << 20];
    let mut echoed = 0;
    let close = loop {
        ws.send(Message::binary(zeros.clone())).await.unwrap();
        match recv(&mut ws).await {
            Message::Binary(echo) => {
                assert_eq!(echo.len(), zeros.len());
                echoed += 1;
                assert!(echoed < 16, "the burst is never spent");
            }
            other => break other,
        }
    };
    match close {
        Message::Close(Some(frame)) => assert_eq!(frame.code.0, 1009, "{frame:?}"),
        other => panic!("expected a 1009 close, got {other:?}"),
    }
    assert!(
        (1..=3).contains(&echoed),
        "{echoed} echoed before the burst was spent (two expected)"
    );
    let result = server.await;
    assert!(
        matches!(
            result,
            Err(Error::Connection(ConnectionError::Protocol(
                ProtocolError::InflateRatio { ratio: 100, .. }
            )))
        ),
        "{result:?}"
    );
}
