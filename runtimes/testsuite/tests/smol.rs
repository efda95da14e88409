//! The suite on smol (`ropeway-smol`).

ropeway_testsuite::suite!(ropeway_testsuite::Smol);
