//! Settings picked by a target's flags byte, and the in-memory opening handshake that gives
//! a client and a server connection, the way `core/tests/support/mod.rs` builds its pair.

use std::sync::Arc;
use std::time::Instant;

use ropeway_core::deflate::{DeflateClient, DeflateConfig, DeflateServer};
use ropeway_core::extension::{ClientExtension, ServerExtension};
use ropeway_core::handshake::{
    Accept, ClientHandshake, ClientRequest, RequestReader, UpgradeRequest, write_response,
};
use ropeway_core::{BytesMut, Config, Connection, Limits, SeededEntropy};

/// What a connection target's flags byte selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    /// permessage-deflate is offered and accepted, with [`Flags::deflate`]'s parameters.
    pub deflate_on: bool,
    /// The parameters both sides ask for.
    pub deflate: DeflateConfig,
    /// Limits small enough that short inputs reach them.
    pub tight_limits: bool,
    /// The application sends every data piece it receives back.
    pub echo: bool,
    /// Keep-alive pings without a pong deadline (`keep_alive_timeout: None`).
    pub no_keep_alive_timeout: bool,
}

impl Flags {
    /// bit 0 deflate on; bits 1–2 server / client no context takeover; bits 3–4 window bits
    /// (15, 12, 9, 8); bit 5 tight limits; bit 6 echo; bit 7 no keep-alive timeout.
    pub fn from_byte(flags: u8) -> Flags {
        Flags {
            deflate_on: flags & 1 != 0,
            deflate: deflate_config(flags >> 1),
            tight_limits: flags & 0x20 != 0,
            echo: flags & 0x40 != 0,
            no_keep_alive_timeout: flags & 0x80 != 0,
        }
    }

    /// The connection settings both sides use.
    pub fn config(&self) -> Config {
        let limits = if self.tight_limits {
            Limits {
                max_frame_size: 64,
                max_message_size: 200,
                max_queued_output: 256,
                ..Limits::DEFAULT
            }
        } else {
            Limits {
                max_frame_size: 64 << 10,
                // Over the 64 KiB in which inflated output is handed out before a frame ends.
                max_message_size: 128 << 10,
                max_queued_output: 64 << 10,
                ..Limits::DEFAULT
            }
        };
        Config {
            limits,
            keep_alive_timeout: if self.no_keep_alive_timeout {
                None
            } else {
                Config::DEFAULT.keep_alive_timeout
            },
            ..Config::DEFAULT
        }
    }
}

/// permessage-deflate parameters from four bits: bit 0 server no context takeover, bit 1
/// client no context takeover, bits 2–3 the window bits for both directions.
pub fn deflate_config(bits: u8) -> DeflateConfig {
    let window = [15, 12, 9, 8][usize::from((bits >> 2) & 3)];
    DeflateConfig {
        server_no_context_takeover: bits & 1 != 0,
        client_no_context_takeover: bits & 2 != 0,
        server_max_window_bits: window,
        client_max_window_bits: window,
        ..DeflateConfig::default()
    }
}

/// Both ends of a connection after a real opening handshake run in memory.
pub struct Pair {
    /// The client end; its mask keys come from a fixed seed, so runs are reproducible.
    pub client: Connection,
    /// The server end.
    pub server: Connection,
    /// When the connection opened (the virtual clock starts here).
    pub now: Instant,
    /// Whether the handshake negotiated permessage-deflate.
    pub deflate: bool,
}

/// Runs the opening handshake between a `ClientHandshake` and an `UpgradeRequest` with the
/// settings `flags` picks, and opens both connections. Panics if a handshake between the
/// library's own two halves fails: that is a bug too.
pub fn pair(flags: &Flags) -> Pair {
    let config = Arc::new(flags.config());
    let now = Instant::now();
    let mut client_ext: Vec<Arc<dyn ClientExtension>> = Vec::new();
    let mut server_ext: Vec<Arc<dyn ServerExtension>> = Vec::new();
    if flags.deflate_on {
        client_ext.push(Arc::new(DeflateClient::new(flags.deflate)));
        server_ext.push(Arc::new(DeflateServer::new(flags.deflate)));
    }

    let mut entropy = SeededEntropy::from_seed([7; 32]);
    let request = ClientRequest::from_url("ws://example.com/chat").expect("valid URL");
    let mut request_bytes = BytesMut::new();
    let mut handshake = ClientHandshake::new(
        &request,
        client_ext,
        &mut entropy,
        &config.limits,
        &mut request_bytes,
    );
    let head = RequestReader::new(&config.limits)
        .recv(&mut request_bytes)
        .expect("own request parses")
        .expect("own request complete");
    let upgrade = UpgradeRequest::from_request(head).expect("own request valid");
    let mut accept = Accept::default();
    let mut server_extension = None;
    if let Some((answer, extension)) = upgrade.negotiate(&server_ext) {
        accept.extensions.push(answer);
        server_extension = Some(extension);
    }
    let mut response = BytesMut::new();
    write_response(&upgrade.accept(&accept), &[], &mut response);
    let accepted = handshake
        .recv(&mut response)
        .expect("own response valid")
        .expect("own response complete");

    let deflate = accepted.extension.is_some();
    assert_eq!(deflate, server_extension.is_some(), "both ends agree");
    let mut client = Connection::client(
        Arc::clone(&config),
        Box::new(SeededEntropy::from_seed([9; 32])),
        now,
    );
    if let Some(extension) = accepted.extension {
        client = client.with_extension(extension);
    }
    let mut server = Connection::server(config, now);
    if let Some(extension) = server_extension {
        server = server.with_extension(extension);
    }
    Pair {
        client,
        server,
        now,
        deflate,
    }
}
