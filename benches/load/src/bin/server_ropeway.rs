//! Echo (or, with `--broadcast`, publish/subscribe) server on ropeway-tokio: ropeway's
//! server ([`ropeway_server`]) on the tokio harness.

use ropeway_bench_load::ropeway_server::{self, TokioHarness};
use ropeway_tokio::Tokio;

fn main() {
    ropeway_server::run::<TokioHarness, Tokio>("ropeway")
}
