//! The room of the async runtimes (tokio, smol, and the HTTPS listener): a member's text
//! goes to every member of the room, on this process and, with `--backplane`, on every
//! sample process joined to it. The registry (the same one Ctrl-C's shutdown uses) is the
//! hub: the message is framed once and left in every member's mailbox.

use ropeway_async::{Io, Registry, WebSocket};
use ropeway_core::{Error, Message, PreparedMessage};

use crate::app;

/// Serves one member of `room` until it leaves.
pub async fn serve<R: Io<S>, S: Unpin>(
    mut ws: WebSocket<S, R>,
    room: &str,
    registry: &Registry<R>,
) -> Result<(), Error> {
    let group = app::room_group(room);
    let id = ws.register(registry);
    registry.join(id, &group);
    while let Some(message) = ws.recv().await {
        if let Message::Text(text) = message? {
            let delivered = registry.broadcast_to(&group, &PreparedMessage::text(text.as_str()));
            if delivered.dropped > 0 {
                eprintln!("room {room}: {} members too far behind", delivered.dropped);
            }
        }
    }
    Ok(())
}
