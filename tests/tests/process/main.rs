//! The real `mp3convert` binary as a user runs it: the seed's curl flow, a crash and
//! restart with work in flight, a graceful stop, the one-shot converter (on hostile input
//! and on every fuzz regression input), the memory that many log-ins at once take; and a
//! function binary under a stand-in of the AWS Lambda Runtime API.

mod cli;
mod fuzz_regressions;
mod hostile_media;
mod lambda_runtime;
mod login_memory;
mod restart;
mod seed_flow;
