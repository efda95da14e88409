//! Every test body runs under a time limit, so a hang fails the test instead of the run.

use std::future::Future;
use std::time::Duration;

use crate::runtime::TestRuntime;

/// The longest any test body may run, unless its case says otherwise.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `body` on runtime `T` and panics if it takes longer than `limit`.
pub fn run_for<T: TestRuntime, F: Future>(limit: Duration, body: F) -> F::Output {
    T::block_on(async {
        match timeout::<T, _>(limit, body).await {
            Some(output) => output,
            None => panic!("test body took longer than {limit:?}"),
        }
    })
}

/// `future`'s output, or `None` if `limit` passed first (the future is then dropped).
pub async fn timeout<T: TestRuntime, F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    ropeway_async::timeout::<T::Rt, F>(limit, future).await
}
