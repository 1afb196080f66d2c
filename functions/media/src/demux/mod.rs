//! Containers we read ourselves, where symphonia has no demuxer or mishandles one, and how the
//! source is presented to symphonia's own demuxers.
//!
//! - `avi`, `flv` and `asf`: AVI's audio streams, Flash Video's audio tags and ASF's (WMA,
//!   WMV) audio streams, as symphonia `FormatReader`s.
//! - `mp4`: a walk of MP4/MOV boxes for what symphonia misses (edit list, codec names, ALAC in
//!   MOV, PCM layouts); `mov_pcm` reads PCM in MOV/MP4 in large blocks, with the speakers of
//!   `mov_chan`.
//! - `mkv`: Matroska's top level, for files cut short and attachments too big to hold.
//! - `mpegts` (TS, M2TS) and `mpegps` (MPEG-1/2 PS, VOB): symphonia demuxers of ours, over
//!   `mpeg`, what both share (PES headers, elementary streams, LPCM, their `FormatReader`).
//! - `frames`: elementary-stream framing (ADTS, MPEG audio, AC-3/E-AC-3, DTS, LATM), for them
//!   and any demuxer of a plain byte stream.
//! - `present`: cut containers made to run to the end of the file, oversized metadata hidden.
//! - `sniff`: names what a file we cannot read looks like, for an error that tells the truth.
//! - `pcm` (raw sample formats to planar f32) and `bytes` (checked little/big-endian reads)
//!   are shared by the demuxers; so are `packets` (container chunks to codec packets), `split`
//!   with `mpa` and `ac3` (frames found by their headers), `aac` (AudioSpecificConfig) and
//!   `codec_ids` (IDs and names of codecs symphonia has none for) and `wave_format` (the
//!   WAVEFORMATEX of AVI and ASF).

use std::sync::LazyLock;

use symphonia::core::formats::probe::Probe;

pub mod aac;
pub mod asf;
pub mod avi;
pub mod bare;
pub mod bytes;
pub mod codec_ids;
pub mod flv;
pub mod frames;
pub mod mkv;
pub mod mov_chan;
pub mod mov_pcm;
pub mod mp4;
pub mod mpeg;
pub mod mpegps;
pub mod mpegts;
pub mod packets;
pub mod pcm;
pub mod present;
pub mod sniff;
pub mod split;
pub mod wave_format;

/// symphonia's demuxers and ours, in one probe: a demuxer of ours implements symphonia's
/// `FormatReader` + `ProbeableFormat` and is registered here.
pub fn probe() -> &'static Probe {
    static PROBE: LazyLock<Probe> = LazyLock::new(|| {
        let mut probe = Probe::default();
        symphonia::default::register_enabled_formats(&mut probe);
        probe.register_format::<asf::AsfReader<'_>>();
        probe.register_format::<avi::AviReader<'_>>();
        probe.register_format::<flv::FlvReader<'_>>();
        probe.register_format::<mpegts::TsReader<'_>>();
        probe.register_format::<mpegps::PsReader<'_>>();
        probe.register_format::<bare::BareReader<'_>>();
        probe
    });
    &PROBE
}
