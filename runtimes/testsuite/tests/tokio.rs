//! The suite on tokio (`ropeway-tokio`).

ropeway_testsuite::suite!(ropeway_testsuite::Tokio);
