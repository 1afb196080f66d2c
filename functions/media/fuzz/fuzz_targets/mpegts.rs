//! The MPEG-TS demuxer, seekable and not.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::mpegts(data));
