//! permessage-deflate (RFC 7692): compression, off unless the application turns it on.
//!
//! **Security:** compressing secrets together with attacker-controlled data in one message,
//! over TLS, leaks the secrets through the compressed size (the CRIME and BREACH attacks).
//! The reference stack calls its switch `DangerousEnableCompression` for that reason. Turn
//! compression on only where messages don't mix the two, or send such messages with
//! [`SendOptions { compress: false }`](crate::SendOptions).
//!
//! * [`DeflateConfig`]: what to ask for, the same for both roles.
//! * [`DeflateServer`] / [`DeflateClient`]: the negotiators to add to a server's or client's
//!   extension list.
//! * [`PerMessageDeflate`]: the per-connection codec they produce.
//!
//! # Memory per connection
//!
//! Each compressing connection holds a DEFLATE compressor and an inflater, each only while
//! its direction needs it: a direction negotiated without context takeover frees its state
//! after every message, so an idle connection holds none. With context takeover, measured
//! with the zlib-rs backend at level 6 (`core/tests/deflate_memory.rs`):
//!
//! | window bits | compressor | inflater |
//! |---:|---:|---:|
//! | 9 | 245 KiB | 46 KiB |
//! | 12 | 259 KiB | 46 KiB |
//! | 15 | 371 KiB | 46 KiB |
//!
//! Most of the compressor is its hash table, which the backend sizes independently of the
//! window (the backend offers no memory-level setting); the inflater always allocates a
//! 32 KiB window. For many idle connections, [`DeflateConfig::low_memory`] (9-bit windows:
//! about a third less, compressing less across messages) or no context takeover
//! ([`DeflateConfig::no_context_takeover`]: 0 bytes between messages, each message
//! compressed on its own).
//!
//! # A hostile peer
//!
//! * **Decompression bombs.** A message is checked after inflating against the message size
//!   limit, and against a per-connection bucket: [`DeflateConfig::inflate_burst`] (4 MiB)
//!   plus [`DeflateConfig::max_inflate_ratio`] (100) times the compressed bytes received. A
//!   stream of 16 KiB frames that would inflate to 16 MiB each fails with 1009 once the
//!   burst is spent, so the work one connection causes is bounded per byte it sends, while
//!   one very repetitive message (2 MiB of one character) still inflates. The core feeds compressed
//!   input to the inflater 16 KiB at a time and hands out 64 KiB pieces as they fill, so a
//!   caller taking pieces or events gets control back between them.
//! * **Malformed streams** fail the message with 1002: corrupt data, and any byte after a
//!   final DEFLATE block (RFC 7692 §7.2.2).
//! * **Windows larger than negotiated** are tolerated, deliberately: the inflater holds
//!   32 KiB of history whatever `client_max_window_bits` says, so a peer that refers further
//!   back than it agreed costs this side no memory and no work, and its data is inflated
//!   correctly. Detecting it would need a DEFLATE decoder of our own (zlib only checks a
//!   distance against the history it holds); a reference beyond that history fails with
//!   1002.

mod codec;
mod params;
mod parked;

use crate::extension::{ClientExtension, Extension, ExtensionOffer, ServerExtension};

pub use self::codec::{Direction, InflateLimit, PerMessageDeflate};
pub use self::params::{NAME, Params};

/// permessage-deflate settings. Window sizes are in bits (8–15: 256 bytes to 32 KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Ask the server to reset its compressor after every message (less memory, less
    /// compression).
    pub server_no_context_takeover: bool,
    /// Ask the client to reset its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The largest window the server's compressor may use.
    pub server_max_window_bits: u8,
    /// The largest window the client's compressor may use. A client offers the parameter
    /// (bare at 15), which lets the server choose a smaller one.
    pub client_max_window_bits: u8,
    /// The compression level, 0 (none) to 9 (best). Default 6.
    pub level: u32,
    /// Messages shorter than this many bytes are sent uncompressed. Default 0.
    pub threshold: usize,
    /// How far received messages may inflate: at most this many bytes per compressed byte
    /// received, beyond [`DeflateConfig::inflate_burst`], or the message fails with 1009.
    /// DEFLATE reaches 1,032:1, so without this bound a peer sending 16 KiB frames makes the
    /// receiver inflate 16 MiB each (a single-threaded server is then busy for milliseconds
    /// per frame from ~1 MB/s of traffic). Text, JSON and binary formats compress 2:1 to
    /// 20:1; the Autobahn compression cases stay under 10:1. `None` leaves only the message
    /// size limit. Default `Some(100)`.
    pub max_inflate_ratio: Option<u32>,
    /// Output a connection may inflate beyond the ratio: a token bucket of this many bytes,
    /// full at first, refilled by `max_inflate_ratio` bytes per compressed byte received
    /// (see [`InflateLimit`]). So a message of one repeated character (2 MiB from 2 KiB)
    /// inflates, while a stream of such messages is held to the ratio: what a peer makes
    /// the connection inflate is at most this burst plus the ratio times what it sent.
    /// Default 4 MiB: a peer that reconnects to get a fresh bucket gets at most that much
    /// inflated per connection.
    pub inflate_burst: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 6,
            threshold: 0,
            max_inflate_ratio: Some(100),
            inflate_burst: 4 << 20,
        }
    }
}

impl DeflateConfig {
    /// Both directions without context takeover: the least memory between messages.
    pub fn no_context_takeover() -> Self {
        DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        }
    }

    /// Less memory per connection with context takeover kept: this end's compressor uses a
    /// 512-byte window (9 bits) instead of 32 KiB, and the peer is asked for the same. Each
    /// idle compressing connection then holds about a third less (see the table in the
    /// [module docs](self)). The trade-off: repeats further back than 512 bytes are not
    /// found, so messages that repeat earlier messages, or repeat within themselves at long
    /// distances, compress less; short JSON or text messages lose little. For the least
    /// memory, negotiate no context takeover ([`DeflateConfig::no_context_takeover`]), which
    /// holds nothing between messages but compresses each message on its own.
    pub fn low_memory() -> Self {
        DeflateConfig {
            server_max_window_bits: 9,
            client_max_window_bits: 9,
            ..DeflateConfig::default()
        }
    }

    /// The bound on inflating one message, from these settings.
    pub fn inflate_limit(&self) -> Option<InflateLimit> {
        self.max_inflate_ratio.map(|ratio| InflateLimit {
            ratio,
            burst: self.inflate_burst,
        })
    }

    fn clamp_bits(bits: u8) -> u8 {
        bits.clamp(8, 15)
    }

    /// The offer a client makes with these settings.
    pub fn client_offer(&self) -> Params {
        let client_bits = Self::clamp_bits(self.client_max_window_bits);
        let server_bits = Self::clamp_bits(self.server_max_window_bits);
        Params {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: (server_bits < 15).then_some(server_bits),
            client_max_window_bits: Some((client_bits < 15).then_some(client_bits)),
        }
    }
}

/// The server's negotiator: add it to the server's extensions to accept compression.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeflateServer {
    /// What the server asks for and allows.
    pub config: DeflateConfig,
}

impl DeflateServer {
    /// A negotiator with `config`.
    pub fn new(config: DeflateConfig) -> Self {
        DeflateServer { config }
    }

    /// The answer to one offer, or why it can't be honoured.
    pub fn answer(&self, offer: &ExtensionOffer) -> Result<(Params, PerMessageDeflate), String> {
        let asked = Params::parse(offer, false)?;
        let cfg = &self.config;
        let own_bits = DeflateConfig::clamp_bits(cfg.server_max_window_bits);
        let server_bits = match asked.server_max_window_bits {
            Some(bits) => Some(bits.min(own_bits)),
            None => (own_bits < 15).then_some(own_bits),
        };
        let client_cap = DeflateConfig::clamp_bits(cfg.client_max_window_bits);
        let client_bits = match asked.client_max_window_bits {
            // The client may not be limited unless it said it supports the parameter.
            None => None,
            Some(None) => (client_cap < 15).then_some(client_cap),
            Some(Some(bits)) => Some(bits.min(client_cap)),
        };
        let answer = Params {
            server_no_context_takeover: asked.server_no_context_takeover
                || cfg.server_no_context_takeover,
            client_no_context_takeover: asked.client_no_context_takeover
                || cfg.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits.map(Some),
        };
        let codec = codec_for(&answer, true, cfg);
        Ok((answer, codec))
    }
}

impl ServerExtension for DeflateServer {
    fn name(&self) -> &str {
        NAME
    }

    fn negotiate(
        &self,
        offers: &[&ExtensionOffer],
    ) -> Option<(ExtensionOffer, Box<dyn Extension>)> {
        // The first offer that can be honoured wins; malformed ones are declined, and with
        // none left the connection opens uncompressed.
        offers.iter().find_map(|offer| {
            let (answer, codec) = self.answer(offer).ok()?;
            Some((answer.to_offer(), Box::new(codec) as Box<dyn Extension>))
        })
    }
}

/// The client's negotiator: add it to the client's extensions to offer compression.
#[derive(Clone, Debug)]
pub struct DeflateClient {
    /// The offers, in order of preference (at least one).
    pub offers: Vec<DeflateConfig>,
}

impl Default for DeflateClient {
    fn default() -> Self {
        DeflateClient::new(DeflateConfig::default())
    }
}

impl DeflateClient {
    /// A negotiator making one offer.
    pub fn new(config: DeflateConfig) -> Self {
        DeflateClient {
            offers: vec![config],
        }
    }

    /// Checks the server's answer against the offers; the codec for the first offer it fits.
    pub fn accept_answer(&self, answer: &ExtensionOffer) -> Result<PerMessageDeflate, String> {
        let answer = Params::parse(answer, true)?;
        self.offers
            .iter()
            .find(|cfg| fits(&cfg.client_offer(), &answer))
            .map(|cfg| codec_for(&answer, false, cfg))
            .ok_or_else(|| "the answer fits none of the offers".to_owned())
    }
}

/// Whether `answer` is a valid acceptance of `offer` (RFC 7692 §7.1).
fn fits(offer: &Params, answer: &Params) -> bool {
    // Asked-for server settings must be granted, at the asked size or smaller.
    if offer.server_no_context_takeover && !answer.server_no_context_takeover {
        return false;
    }
    match (offer.server_max_window_bits, answer.server_max_window_bits) {
        (Some(_), None) => return false,
        (Some(asked), Some(granted)) if granted > asked => return false,
        _ => {}
    }
    // The client's window may only be limited if the client offered the parameter.
    match (offer.client_max_window_bits, answer.client_max_window_bits) {
        (None, Some(_)) => false,
        (Some(Some(cap)), Some(Some(bits))) => bits <= cap,
        _ => true,
    }
}

impl ClientExtension for DeflateClient {
    fn name(&self) -> &str {
        NAME
    }

    fn offers(&self) -> Vec<ExtensionOffer> {
        self.offers
            .iter()
            .map(|cfg| cfg.client_offer().to_offer())
            .collect()
    }

    fn accept(&self, answer: &ExtensionOffer) -> Result<Box<dyn Extension>, String> {
        Ok(Box::new(self.accept_answer(answer)?))
    }
}

/// The codec for a negotiated answer, from the point of view of the server or the client.
fn codec_for(answer: &Params, server: bool, cfg: &DeflateConfig) -> PerMessageDeflate {
    let server_side = Direction {
        no_context_takeover: answer.server_no_context_takeover,
        max_window_bits: answer.server_max_window_bits.unwrap_or(15),
    };
    let client_side = Direction {
        no_context_takeover: answer.client_no_context_takeover,
        max_window_bits: answer.client_max_window_bits.flatten().unwrap_or(15),
    };
    let (outbound, inbound) = if server {
        (server_side, client_side)
    } else {
        (client_side, server_side)
    };
    PerMessageDeflate::new(outbound, inbound, cfg.level, cfg.threshold)
        .with_inflate_limit(cfg.inflate_limit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::parse_extensions;

    fn offers(header: &str) -> Vec<ExtensionOffer> {
        parse_extensions(header).unwrap()
    }

    fn negotiate(server: DeflateConfig, header: &str) -> Option<String> {
        let offers = offers(header);
        let refs: Vec<&ExtensionOffer> = offers.iter().collect();
        DeflateServer::new(server)
            .negotiate(&refs)
            .map(|(a, _)| a.to_string())
    }

    #[test]
    fn server_answers_each_parameter() {
        let d = DeflateConfig::default();
        assert_eq!(
            negotiate(d, "permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            negotiate(d, "permessage-deflate; client_max_window_bits").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            negotiate(
                d,
                "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12"
            )
            .as_deref(),
            Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits=12")
        );
        assert_eq!(
            negotiate(
                d,
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
            )
            .as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        let small = DeflateConfig {
            server_max_window_bits: 11,
            client_max_window_bits: 10,
            client_no_context_takeover: true,
            ..d
        };
        assert_eq!(
            negotiate(small, "permessage-deflate; client_max_window_bits").as_deref(),
            Some(
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10"
            )
        );
        // Without the client's client_max_window_bits, the client's window can't be limited.
        assert_eq!(
            negotiate(small, "permessage-deflate").as_deref(),
            Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=11")
        );
    }

    #[test]
    fn server_declines_what_it_cannot_honour_and_takes_the_next() {
        let d = DeflateConfig::default();
        assert_eq!(
            negotiate(d, "permessage-deflate; server_max_window_bits=16, permessage-deflate; x=1, permessage-deflate; client_max_window_bits=9").as_deref(),
            Some("permessage-deflate; client_max_window_bits=9")
        );
        assert_eq!(
            negotiate(d, "permessage-deflate; server_max_window_bits"),
            None
        );
    }

    #[test]
    fn client_checks_the_answer() {
        let client = DeflateClient::new(DeflateConfig {
            server_max_window_bits: 10,
            ..DeflateConfig::default()
        });
        assert_eq!(
            client.offers()[0].to_string(),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits"
        );
        let accept = |h: &str| {
            client
                .accept_answer(&offers(h)[0])
                .map(|c| (c.outbound(), c.inbound()))
        };
        let (out, inb) =
            accept("permessage-deflate; server_max_window_bits=9; client_max_window_bits=11")
                .unwrap();
        assert_eq!((out.max_window_bits, inb.max_window_bits), (11, 9));
        assert!(
            accept("permessage-deflate").is_err(),
            "asked server_max_window_bits not granted"
        );
        assert!(
            accept("permessage-deflate; server_max_window_bits=12").is_err(),
            "larger than asked"
        );
        assert!(
            accept("permessage-deflate; server_max_window_bits=10; client_max_window_bits")
                .is_err()
        );
        assert!(accept("permessage-deflate; server_max_window_bits=10; foo").is_err());
        let plain = DeflateClient::new(DeflateConfig {
            client_max_window_bits: 15,
            ..DeflateConfig::default()
        });
        assert!(
            plain
                .accept_answer(&offers("permessage-deflate; client_no_context_takeover")[0])
                .is_ok()
        );
    }

    #[test]
    fn several_offers_in_order_of_preference() {
        let client = DeflateClient {
            offers: vec![
                DeflateConfig::no_context_takeover(),
                DeflateConfig::default(),
            ],
        };
        let header: Vec<String> = client.offers().iter().map(|o| o.to_string()).collect();
        assert_eq!(
            header.join(", "),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits, permessage-deflate; client_max_window_bits"
        );
        // A server that ignores the first offer's request for no context takeover answers
        // the second.
        let codec = client
            .accept_answer(&offers("permessage-deflate")[0])
            .unwrap();
        assert!(!codec.inbound().no_context_takeover);
    }
}
