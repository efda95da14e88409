//! The ropeway echo sample, after the reference stack's: `GET /` serves a page (Connect,
//! Send, Close Socket, a Communication Log); `/ws` echoes every message until the client
//! closes, then closes with the client's code and reason. `--runtime tokio` (default),
//! `--runtime smol` or `--runtime mio` (an event loop, no task per connection) picks the
//! runtime; all serve the same routes with the same options. Over TLS (`--tls-cert`/`--tls-key`,
//! or `--self-signed` for development) tokio serves HTTP/2 and HTTP/1.1, and WebSockets over
//! either (RFC 8441 extended CONNECT for HTTP/2).

mod accept;
mod app;
mod async_runtime;
mod backplane;
mod connection;
mod options;
mod room;
mod serve_async;
mod serve_https;
mod serve_mio;
mod serve_smol;
mod serve_tokio;
mod tls;

use options::{Options, Runtime, USAGE};
use ropeway_smol::Smol;
use ropeway_tokio::Tokio;

fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        // `--help` (an empty message) is asked for: the usage goes to stdout. A usage error
        // goes to stderr with the usage after it.
        Err(message) if message.is_empty() => {
            // Not `println!`: it panics when stdout is a pipe already closed
            // (`ropeway-echo --help | head -1`).
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            std::process::exit(0);
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let result = match options.runtime {
        Runtime::Tokio => serve_async::run::<Tokio>(options),
        Runtime::Smol => serve_async::run::<Smol>(options),
        Runtime::Mio => serve_mio::run(options),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
