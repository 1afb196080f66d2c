//! The real `mp3convert` binary as a user runs it: the seed's curl flow, a crash and
//! restart with work in flight, a graceful stop, and the one-shot converter; and a
//! function binary under a stand-in of the AWS Lambda Runtime API.

mod cli;
mod hostile_media;
mod lambda_runtime;
mod restart;
mod seed_flow;
