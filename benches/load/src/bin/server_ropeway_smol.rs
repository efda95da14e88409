//! Echo (or, with `--broadcast`, publish/subscribe) server on ropeway-smol: the same server
//! as `server_ropeway.rs` ([`ropeway_server`]) on one thread with a smol local executor, so
//! the two rows compare the runtimes.

use ropeway_bench_load::ropeway_server::{self, SmolHarness};
use ropeway_smol::Smol;

fn main() {
    ropeway_server::run::<SmolHarness, Smol>("ropeway-smol")
}
