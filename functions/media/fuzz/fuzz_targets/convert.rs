//! The whole conversion pipeline, in-process, output capped at 30 s.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::convert(data));
