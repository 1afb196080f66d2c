//! What the MPEG-TS and MPEG-PS demuxers share: PES headers (`pes`), the read-ahead window
//! over the source (`window`), one audio elementary stream cut into frames (`es`, with `lpcm`
//! for DVD and Blu-ray PCM) and the symphonia `FormatReader` over a container (`reader`).

pub mod es;
pub mod lpcm;
pub mod pes;
pub mod reader;
pub mod window;
