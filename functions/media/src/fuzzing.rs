//! Entry points for the fuzz targets in `functions/media/fuzz`: each hand-written demuxer,
//! and the whole pipeline, on arbitrary bytes. Not part of the engine's API.

use std::io::{Cursor, Read, Write};
use std::sync::atomic::AtomicBool;

use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, ReadOnlySource};

use crate::demux::frames::Framing;
use crate::demux::mpeg::es::{Coding, Es};
use crate::demux::mpeg::lpcm::Flavour;
use crate::demux::mpeg::reader::{Container, MpegReader};
use crate::{Mp3Sink, Options};

/// An MP3 sink that keeps nothing.
#[derive(Default)]
struct NullSink;

impl Write for NullSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Mp3Sink for NullSink {
    fn overwrite(&mut self, _offset: u64, _bytes: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}

/// Options for fuzzing: short outputs, so that each run stays fast.
fn options() -> Options {
    Options { max_duration: Some(std::time::Duration::from_secs(30)), ..Options::default() }
}

/// The MP4/MOV box walk (`mp4::scan`).
pub fn mp4_scan(data: &[u8]) {
    let _ = crate::demux::mp4::scan(&mut Cursor::new(data));
}

/// The MOV/MP4 PCM reader: the box walk, then the chunk reader over whatever layout it found.
pub fn mov_pcm(data: &[u8]) {
    let mut source = Cursor::new(data);
    let Ok(info) = crate::demux::mp4::scan(&mut source) else { return };
    let Some(layout) = info.pcm else { return };
    let mut sink = NullSink;
    let mut feed = crate::feed::Feed::new(&mut sink, &options());
    let start = crate::feed::Start { id3: Vec::new(), skip: 0, limit: None };
    if crate::demux::mov_pcm::pump(&mut source, &layout, &mut feed, start, &mut |_| {}, &AtomicBool::new(false)).is_ok() {
        let _ = feed.finish();
    }
}

/// Every packet of a demuxer of ours (`open` makes it from the bytes), as the pipeline reads
/// them; stops at the first error, as the pipeline does.
fn packets<'s>(data: &'s [u8], open: fn(MediaSourceStream<'s>) -> symphonia::core::errors::Result<Box<dyn FormatReader + 's>>) {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(data)), Default::default());
    let Ok(mut reader) = open(mss) else { return };
    let _ = reader.tracks().len();
    while let Ok(Some(_)) = reader.next_packet() {}
}

/// The AVI reader.
pub fn avi(data: &[u8]) {
    packets(data, |mss| Ok(Box::new(crate::demux::avi::AviReader::try_new(mss)?)));
}

/// The ASF reader.
pub fn asf(data: &[u8]) {
    packets(data, |mss| Ok(Box::new(crate::demux::asf::AsfReader::try_new(mss)?)));
}

/// The FLV reader.
pub fn flv(data: &[u8]) {
    packets(data, |mss| Ok(Box::new(crate::demux::flv::FlvReader::try_new(mss)?)));
}

/// The Matroska walk (cut Segments, oversized Attachments), then reading through the patched
/// source.
pub fn cut(data: &[u8]) {
    let mut source = Cursor::new(data.to_vec());
    let Ok(Some(plan)) = crate::demux::mkv::plan(&mut source, 64) else { return };
    let mut patched = crate::demux::present::Patched::new(Box::new(source), 0, plan.patches).forward_only();
    let mut buf = [0u8; 4096];
    while matches!(patched.read(&mut buf), Ok(n) if n > 0) {}
}

/// The MPEG-TS demuxer: opening (tables, look-ahead, last timestamps), then every packet, from
/// a seekable and from an unseekable source.
pub fn mpegts(data: &[u8]) {
    read_packets::<crate::demux::mpegts::Ts>(data);
}

/// The MPEG-PS demuxer, as `mpegts`.
pub fn mpegps(data: &[u8]) {
    read_packets::<crate::demux::mpegps::Ps>(data);
}

fn read_packets<C: Container>(data: &[u8]) {
    let sources: [Box<dyn symphonia::core::io::MediaSource>; 2] =
        [Box::new(Cursor::new(data.to_vec())), Box::new(ReadOnlySource::new(Cursor::new(data.to_vec())))];
    for source in sources {
        let mss = MediaSourceStream::new(source, Default::default());
        let Ok(mut reader) = MpegReader::<C>::try_new(mss, FormatOptions::default()) else { continue };
        let _ = reader.tracks();
        while let Ok(Some(_)) = reader.next_packet() {}
    }
}

/// Elementary-stream reassembly and framing: the bytes after the first (which sets the size of
/// the pieces they come in) as every coding's stream, a new PES packet every 8 pieces.
pub fn frames(data: &[u8]) {
    let Some((&size, stream)) = data.split_first() else { return };
    let piece = 1 + usize::from(size) * 3;
    let codings = [
        Coding::Framed(Framing::Adts),
        Coding::Framed(Framing::Mpeg),
        Coding::Framed(Framing::Ac3),
        Coding::Framed(Framing::Dts),
        Coding::Latm,
        Coding::Lpcm(Flavour::Dvd),
        Coding::Lpcm(Flavour::Bluray),
        Coding::Detect,
    ];
    for coding in codings {
        let mut es = Es::new(coding);
        for (i, chunk) in stream.chunks(piece).enumerate() {
            if i % 8 == 0 {
                es.start_unit(chunk);
            } else {
                es.push(chunk);
            }
            while es.next_packet(0, false).is_some() {}
        }
        while es.next_packet(0, true).is_some() {}
    }
}

/// The WMA decoder on its own: the first byte picks the stream's format — bits 0–2 the rate
/// (8 to 50 kHz), 3 stereo, 4 WMA v1, 5 the bit reservoir, 6 and 7 the block sizes, which
/// ffmpeg-made seeds never vary — the second its bit rate (kbps − 1); the rest is packets of
/// the size ffmpeg's encoder gives that format (`local-dev/fuzz-seeds.sh` seeds it so).
pub fn wma(data: &[u8]) {
    use crate::decode::PacketDecoder;
    use symphonia::core::packet::Packet;
    use symphonia::core::units::{Duration, Timestamp};

    let [pick, kbps, packets @ ..] = data else { return };
    let rate = [8_000u32, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 50_000][usize::from(pick & 7)];
    let channels = 1 + u16::from(pick >> 3 & 1);
    let v1 = pick & 16 != 0;
    let flags2 = 1 | u16::from(pick >> 5 & 1) << 1 | u16::from(pick >> 6 & 1) << 2 | u16::from(pick >> 7) << 3;
    let bit_rate = (u32::from(*kbps) + 1) * 1000;
    let frame_len = 1 << crate::decode::wma::frame_len_bits(if v1 { 1 } else { 2 }, rate);
    let block_align = (bit_rate * frame_len / (8 * rate)).max(1) as u16;
    let mut format = Vec::new();
    format.extend(if v1 { 0x0160u16 } else { 0x0161 }.to_le_bytes());
    format.extend(channels.to_le_bytes());
    format.extend(rate.to_le_bytes());
    format.extend((bit_rate / 8).to_le_bytes());
    format.extend(block_align.to_le_bytes());
    format.extend([16, 0]);
    if v1 {
        format.extend([4, 0, 0, 0]);
    } else {
        format.extend([6, 0, 0, 0, 0, 0]);
    }
    format.extend(flags2.to_le_bytes());
    let Ok(mut decoder) = crate::decode::wma::WmaDecoder::new(Some(&format)) else { return };
    let mut planes = Vec::new();
    for chunk in packets.chunks(usize::from(block_align)) {
        if decoder.decode(&Packet::new(0, Timestamp::new(0), Duration::new(0), chunk.to_vec()), &mut planes).is_err() {
            decoder.reset();
        }
    }
    let _ = decoder.drain(&mut planes);
}

/// The whole conversion, as `media::convert` runs it.
pub fn convert(data: &[u8]) {
    let source = Box::new(Cursor::new(data.to_vec()));
    let _ = crate::convert(source, &mut NullSink, &options(), &mut |_| {}, &AtomicBool::new(false));
}
