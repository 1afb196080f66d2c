//! The real `mp3convert` binary as a user runs it: the seed's curl flow, a crash and
//! restart with work in flight, a graceful stop, and the one-shot converter (also on every
//! fuzz regression input); and a function binary under a stand-in of the AWS Lambda Runtime API.

mod cli;
mod fuzz_regressions;
mod lambda_runtime;
mod restart;
mod seed_flow;
