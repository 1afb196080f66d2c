//! The cut-file reader (Matroska Segment patch, then reading through it).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::cut(data));
