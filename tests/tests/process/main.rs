//! The real `mp3convert` binary as a user runs it: the seed's curl flow, a crash and
//! restart with work in flight, a graceful stop, and the one-shot converter.

mod cli;
mod restart;
mod seed_flow;
