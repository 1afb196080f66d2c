//! Elementary-stream reassembly and framing (ADTS, MPEG audio, AC-3, DTS, LATM, LPCM).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::frames(data));
