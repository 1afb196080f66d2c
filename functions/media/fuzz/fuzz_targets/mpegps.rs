//! The MPEG-PS demuxer, seekable and not.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::mpegps(data));
