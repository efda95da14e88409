//! `--backplane redis://…`: the sample's rooms span every sample process joined to the same
//! Redis, whatever runtime each runs on. The registry (tokio, smol) or the event loop's
//! handle (mio) is where the backplane delivers; the backplane's events go to the log.

use std::sync::Arc;

use ropeway_core::backplane::LocalDelivery;
use ropeway_redis::{RedisBackplane, RedisEvent, RedisOptions};

/// Starts the backplane named by `url`, delivering to `local`. It connects in the
/// background (and reconnects with backoff): the sample serves local rooms meanwhile.
pub fn start(url: &str, local: Arc<dyn LocalDelivery>) -> Result<RedisBackplane, String> {
    let options = RedisOptions {
        prefix: "ropeway-echo".into(),
        on_event: Some(Arc::new(|event: &RedisEvent| match event {
            RedisEvent::Connected { link } => println!("backplane: {link:?} connected"),
            RedisEvent::Disconnected { link, error } => {
                eprintln!("backplane: {link:?} disconnected: {error}")
            }
            RedisEvent::Lost { messages } => {
                eprintln!("backplane: {messages} messages lost while disconnected")
            }
        })),
        ..RedisOptions::default()
    };
    let backplane = RedisBackplane::start(url, options, local).map_err(|e| e.to_string())?;
    println!(
        "backplane: {} as server {}",
        backplane.url(),
        ropeway_core::backplane::Backplane::server_id(&backplane)
    );
    Ok(backplane)
}
