//! The WMA decoder on its own, in every stream layout (bit reservoir, block sizes).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::wma(data));
