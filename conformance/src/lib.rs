//! Shared pieces of the Autobahn|Testsuite testees: command-line parsing and the settings
//! every runtime's testee uses, so the runtimes are tested under the same conditions.

use ropeway_core::{Config, Limits};

pub mod async_testee;

/// What a testee was asked to do.
#[derive(Debug)]
pub enum Command {
    /// Serve an echo endpoint on `addr` (wstest's fuzzingclient tests it).
    Server {
        /// `host:port` to listen on.
        addr: String,
    },
    /// Walk the fuzzingserver's cases at `url` as `agent`, echoing each, then ask for the
    /// report.
    Client {
        /// The fuzzingserver's base URL, e.g. `ws://127.0.0.1:9002`.
        url: String,
        /// The agent name the report files the results under.
        agent: String,
    },
}

/// The usage line for a testee binary.
pub const USAGE: &str =
    "usage: testee-<runtime> server --addr HOST:PORT | client --url URL --agent NAME";

impl Command {
    /// Parses the arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
        let mut args = args.into_iter();
        let role = args.next().ok_or(USAGE)?;
        let mut flags = std::collections::HashMap::new();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            flags.insert(flag, value);
        }
        let mut take = |name: &str| flags.remove(name).ok_or(format!("missing {name}\n{USAGE}"));
        match role.as_str() {
            "server" => Ok(Command::Server {
                addr: take("--addr")?,
            }),
            "client" => Ok(Command::Client {
                url: take("--url")?,
                agent: take("--agent")?,
            }),
            _ => Err(USAGE.into()),
        }
    }
}

/// The core settings for conformance runs: the suite sends messages up to 16 MiB, and the
/// keep-alive is off so that no unsolicited ping disturbs a case.
pub fn core_config() -> Config {
    Config {
        limits: Limits {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            max_queued_output: 64 << 20,
            ..Limits::default()
        },
        keep_alive_interval: None,
        keep_alive_timeout: None,
        ..Config::default()
    }
}
