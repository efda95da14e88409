//! The Autobahn|Testsuite testee for ropeway-mio: `server` echoes every message from the
//! event-loop server (tested by wstest's fuzzingclient); `client` runs every case of wstest's
//! fuzzingserver with the blocking client.

mod client;
mod server;

use ropeway_conformance::Command;

fn main() {
    let command = Command::parse(std::env::args().skip(1)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let result = match command {
        Command::Server { addr } => server::run(&addr),
        Command::Client { url, agent } => client::run(&url, &agent).map_err(Into::into),
    };
    if let Err(e) = result {
        eprintln!("testee failed: {e}");
        std::process::exit(1);
    }
}
