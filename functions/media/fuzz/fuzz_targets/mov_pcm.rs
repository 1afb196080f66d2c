//! The MOV/MP4 PCM reader (box walk, then the chunk reader).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::mov_pcm(data));
