//! The FLV reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::flv(data));
