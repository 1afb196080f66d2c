//! Containers we read ourselves, where symphonia has no demuxer or mishandles one, and how the
//! source is presented to symphonia's own demuxers.
//!
//! - `avi`: AVI (RIFF) audio streams, read in bounded blocks.
//! - `mp4`: a walk of MP4/MOV boxes for what symphonia misses (edit list, codec names, ALAC in
//!   MOV, PCM layouts); `mov_pcm` reads PCM in MOV/MP4 in large blocks.
//! - `mkv`: Matroska's top level, for files cut short and attachments too big to hold.
//! - `mpegts` (TS, M2TS) and `mpegps` (MPEG-1/2 PS, VOB): symphonia demuxers of ours, over
//!   `mpeg`, what both share (PES headers, elementary streams, LPCM, their `FormatReader`).
//! - `frames`: elementary-stream framing (ADTS, MPEG audio, AC-3/E-AC-3, DTS, LATM), for them
//!   and any demuxer of a plain byte stream.
//! - `present`: cut containers made to run to the end of the file, oversized metadata hidden.
//! - `pcm` (raw sample formats to planar f32) and `bytes` (checked little/big-endian reads)
//!   are shared by the demuxers.

use std::sync::LazyLock;

use symphonia::core::formats::probe::Probe;

pub mod avi;
pub mod bytes;
pub mod frames;
pub mod mkv;
pub mod mov_pcm;
pub mod mp4;
pub mod mpeg;
pub mod mpegps;
pub mod mpegts;
pub mod pcm;
pub mod present;

/// symphonia's demuxers and ours, in one probe: a demuxer of ours implements symphonia's
/// `FormatReader` + `ProbeableFormat` and is registered here.
pub fn probe() -> &'static Probe {
    static PROBE: LazyLock<Probe> = LazyLock::new(|| {
        let mut probe = Probe::default();
        symphonia::default::register_enabled_formats(&mut probe);
        probe.register_format::<mpegts::TsReader<'_>>();
        probe.register_format::<mpegps::PsReader<'_>>();
        probe
    });
    &PROBE
}
