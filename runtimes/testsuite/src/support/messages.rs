//! Receiving and checking messages on a ropeway WebSocket, whatever its transport.

use ropeway_async::{Io, WebSocket};
use ropeway_core::{CloseFrame, Error, Message};

use super::payloads::{bytes_of_len, text_of_len};

/// Echoes every text and binary message until the connection ends. Returns the close frame
/// the peer sent (if it sent one), or the error the connection ended with.
pub async fn echo<S: Unpin, R: Io<S>>(
    mut ws: WebSocket<S, R>,
) -> Result<Option<CloseFrame>, Error> {
    let mut close = None;
    while let Some(message) = ws.recv().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Close(frame) => close = frame,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    Ok(close)
}

/// Receives the next message, failing the test on an error or the end of the connection.
pub async fn recv<S: Unpin, R: Io<S>>(ws: &mut WebSocket<S, R>) -> Message {
    match ws.recv().await {
        Some(Ok(message)) => message,
        Some(Err(e)) => panic!("expected a message, got the error {e:?}"),
        None => panic!("expected a message, the connection ended"),
    }
}

/// Receives the next text or binary message, skipping pings and pongs.
pub async fn recv_data<S: Unpin, R: Io<S>>(ws: &mut WebSocket<S, R>) -> Message {
    loop {
        match recv(ws).await {
            Message::Ping(_) | Message::Pong(_) => {}
            message => return message,
        }
    }
}

/// The connection ends (`recv` gives `None`) without an error: the close handshake completed.
pub async fn assert_ends_cleanly<S: Unpin, R: Io<S>>(ws: &mut WebSocket<S, R>) {
    assert!(
        ws.recv().await.is_none(),
        "expected the end of the connection"
    );
    assert_eq!(ws.connection().error(), None);
}

/// Sends a text and a binary message of each size to an echoing peer and asserts that each
/// comes back intact; `label` says which run failed.
pub async fn assert_echoes<S: Unpin, R: Io<S>>(
    ws: &mut WebSocket<S, R>,
    sizes: &[usize],
    label: &str,
) {
    for &size in sizes {
        let text = Message::text(text_of_len(size));
        ws.send(text.clone()).await.unwrap();
        assert!(
            recv(ws).await == text,
            "{label}: text of {size} bytes came back changed"
        );
        let binary = Message::binary(bytes_of_len(size));
        ws.send(binary.clone()).await.unwrap();
        assert!(
            recv(ws).await == binary,
            "{label}: binary of {size} bytes came back changed"
        );
    }
}
