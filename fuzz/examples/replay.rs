//! Replays fuzzer inputs outside libFuzzer, printing each step of a connection target:
//!
//! ```text
//! cd fuzz && ROPEWAY_FUZZ_TRACE=1 cargo run --example replay -- connection_server FILE…
//! ```

use ropeway_core::Role;

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("a target name, then input files");
    for path in args {
        let data = std::fs::read(&path).expect("readable input");
        eprintln!("== {path} ({} bytes)", data.len());
        match target.as_str() {
            "connection_server" => ropeway_fuzz::connection::run(Role::Server, &data),
            "connection_client" => ropeway_fuzz::connection::run(Role::Client, &data),
            "handshake_request" => ropeway_fuzz::handshake::request(&data),
            "handshake_response" => ropeway_fuzz::handshake::response(&data),
            "proxy_reply" => ropeway_fuzz::proxy::reply(&data),
            other => panic!("unknown target {other}"),
        }
    }
}
