//! The MP4/MOV box walk.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::mp4_scan(data));
