//! Command-line options of the echo sample.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ropeway_core::deflate::DeflateConfig;

/// The async runtime the sample serves on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// ropeway-tokio on a tokio current-thread runtime.
    Tokio,
    /// ropeway-smol on a smol local executor.
    Smol,
    /// ropeway-mio: one event loop on the main thread.
    Mio,
}

/// What the sample serves and how.
#[derive(Debug)]
pub struct Options {
    /// The runtime to serve on.
    pub runtime: Runtime,
    /// Addresses to listen on.
    pub listen: Vec<SocketAddr>,
    /// Keep-alive ping interval; `None` turns it off.
    pub keep_alive: Option<Duration>,
    /// Origins allowed to open a WebSocket; empty allows all.
    pub allowed_origins: Vec<String>,
    /// Certificate chain and private key (PEM) to serve https:// and wss://.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Serve https:// and wss:// with a certificate for localhost made at start.
    pub self_signed: bool,
    /// permessage-deflate settings when compression is on.
    pub compression: Option<DeflateConfig>,
    /// A Redis URL: rooms span every sample process joined to it.
    pub backplane: Option<String>,
}

pub const USAGE: &str = "\
ropeway echo sample: a web page at / and a WebSocket echo at /ws; rooms at /room

USAGE: ropeway-echo [OPTIONS]

OPTIONS:
  --runtime tokio|smol|mio the runtime to serve on (default tokio; mio: an event loop)
  --backplane redis://HOST:PORT   join a Redis backplane: the rooms at /room span every sample
                           process joined to it (messages there are delivered at most once)
  --listen ADDR            address to listen on (repeatable; default 127.0.0.1:5000 and [::1]:5000)
  --keep-alive SECONDS     keep-alive ping interval, 0 = off (default 120)
  --allowed-origin ORIGIN  allow WebSockets only from this origin (repeatable; default: any)
  --tls-cert FILE          PEM certificate chain: serve https:// and wss://
  --tls-key FILE           PEM private key for --tls-cert
  --self-signed            serve https:// and wss:// with a certificate for localhost, 127.0.0.1
                           and ::1 made at start (for development: browsers warn about it)
  --compression            accept permessage-deflate (off by default: compressing secrets next to
                           attacker-controlled data over TLS leaks them, see CRIME/BREACH)
  --server-max-window-bits N      with --compression: the server's window, 8-15 (default 15)
  --server-no-context-takeover    with --compression: reset the server's compressor per message
  --client-no-context-takeover    with --compression: ask clients to reset theirs per message
                                  (with the option above: the lean mode, no DEFLATE state held
                                  by an idle connection)
  --max-inflate-ratio N           with --compression: a message may inflate to N times its
                                  compressed size past 1 MiB, 0 = no bound (default 100)
  -h, --help               this text

Over TLS (--tls-cert/--tls-key or --self-signed) the tokio runtime speaks HTTP/2 and HTTP/1.1
(ALPN), and a browser's WebSocket rides the HTTP/2 connection that loaded the page (RFC 8441).
The smol runtime serves HTTP/1.1 only. The page connects to /ws?announce, on which the server
first says which HTTP version carried the WebSocket.";

impl Options {
    /// Parses `args` (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut runtime = Runtime::Tokio;
        let mut listen = Vec::new();
        let mut keep_alive = Some(Duration::from_secs(120));
        let mut allowed_origins = Vec::new();
        let (mut cert, mut key) = (None, None);
        let mut self_signed = false;
        let mut compression: Option<DeflateConfig> = None;
        let mut backplane = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--runtime" => {
                    runtime = match value("--runtime")?.as_str() {
                        "tokio" => Runtime::Tokio,
                        "smol" => Runtime::Smol,
                        "mio" => Runtime::Mio,
                        other => return Err(format!("--runtime {other}: tokio, smol or mio")),
                    }
                }
                "--listen" => {
                    let v = value("--listen")?;
                    listen.push(v.parse().map_err(|e| format!("--listen {v}: {e}"))?);
                }
                "--keep-alive" => {
                    let v = value("--keep-alive")?;
                    let secs: u64 = v.parse().map_err(|e| format!("--keep-alive {v}: {e}"))?;
                    keep_alive = (secs > 0).then(|| Duration::from_secs(secs));
                }
                "--allowed-origin" => allowed_origins.push(value("--allowed-origin")?),
                "--tls-cert" => cert = Some(PathBuf::from(value("--tls-cert")?)),
                "--tls-key" => key = Some(PathBuf::from(value("--tls-key")?)),
                "--self-signed" => self_signed = true,
                "--backplane" => backplane = Some(value("--backplane")?),
                "--compression" => {
                    compression.get_or_insert_with(DeflateConfig::default);
                }
                "--server-max-window-bits" => {
                    let v = value("--server-max-window-bits")?;
                    let bits: u8 = v
                        .parse()
                        .map_err(|e| format!("--server-max-window-bits {v}: {e}"))?;
                    if !(8..=15).contains(&bits) {
                        return Err(format!("--server-max-window-bits {bits}: 8 to 15"));
                    }
                    compression
                        .get_or_insert_with(DeflateConfig::default)
                        .server_max_window_bits = bits;
                }
                "--server-no-context-takeover" => {
                    compression
                        .get_or_insert_with(DeflateConfig::default)
                        .server_no_context_takeover = true;
                }
                "--client-no-context-takeover" => {
                    compression
                        .get_or_insert_with(DeflateConfig::default)
                        .client_no_context_takeover = true;
                }
                "--max-inflate-ratio" => {
                    let v = value("--max-inflate-ratio")?;
                    let ratio: u32 = v
                        .parse()
                        .map_err(|e| format!("--max-inflate-ratio {v}: {e}"))?;
                    compression
                        .get_or_insert_with(DeflateConfig::default)
                        .max_inflate_ratio = (ratio > 0).then_some(ratio);
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown option {other}")),
            }
        }
        if listen.is_empty() {
            listen = vec![
                "127.0.0.1:5000".parse().unwrap_or_else(|_| unreachable!()),
                "[::1]:5000".parse().unwrap_or_else(|_| unreachable!()),
            ];
        }
        let tls = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        if self_signed && tls.is_some() {
            return Err("--self-signed or --tls-cert/--tls-key, not both".into());
        }
        Ok(Options {
            runtime,
            listen,
            keep_alive,
            allowed_origins,
            tls,
            self_signed,
            compression,
            backplane,
        })
    }
}
