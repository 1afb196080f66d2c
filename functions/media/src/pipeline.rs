//! The front half of the pipeline: container probing, track choice, packet loop with trimming,
//! decode-error containment, progress and cancellation.

use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::decode::choose::{choose_track, codec_name, extra_data, make_decoder};
use crate::decode::{Block, opus_pre_skip};
use crate::demux::mov_pcm;
use crate::demux::mp4::{self, Mp4Info};
use crate::demux::pcm::SampleKind;
use crate::demux::sniff;
use crate::encode::tags::SourceTags;
use crate::feed::{Feed, Pushed, Start};
use crate::limits::{MIN_SAMPLE_RATE, check_format};
use crate::mix;
use crate::{MediaError, Mp3Sink, Options, Report};

/// Give up after this many consecutive undecodable packets.
const MAX_BAD_PACKETS_IN_A_ROW: u32 = 100;

pub fn run(
    mut source: Box<dyn MediaSource>,
    sink: &mut dyn Mp3Sink,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &AtomicBool,
) -> Result<Report, MediaError> {
    let head = read_head(&mut source)?;
    let mp4_info = inspect_mp4(&mut source)?;
    if let Some(info) = &mp4_info {
        if !info.has_moov {
            return Err(MediaError::CorruptInput("MP4/MOV file without an index (moov box)".into()));
        }
        if !info.has_sound {
            return Err(MediaError::NoAudioTrack);
        }
    }

    // A container cut short runs to the end of the file; metadata too big to hold is hidden.
    let presented = crate::demux::present::present(source, mp4_info.as_ref())?;
    let (cut_container, acm) = (presented.cut, presented.acm);
    let mss = MediaSourceStream::new(presented.source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = options.extension.as_deref() {
        hint.with_extension(ext);
    }
    let probed =
        catch_unwind(AssertUnwindSafe(|| crate::demux::probe().probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())));
    let mut format = match probed {
        Ok(Ok(f)) => f,
        Ok(Err(SymError::IoError(e))) if e.kind() != ErrorKind::UnexpectedEof => return Err(MediaError::Io(e)),
        Ok(Err(e)) => return Err(unreadable(&head, format!("not a readable media file ({e})"))),
        Err(_) => return Err(unreadable(&head, "not a readable media file".into())),
    };

    let track = choose_track(&crate::demux::mkv::with_acm_tracks(format.tracks(), &acm), mp4_info.as_ref())?;
    let track_id = track.id;
    let params = track.codec_params.as_ref().and_then(|p| p.audio());
    // Before any decoder sizes its buffers by what the container declares. A rate of 0 is
    // "see the codec's own header" (MP4 cannot carry 96 kHz in its sample entry): the rate
    // decoded is checked with the first block.
    if let Some(params) = params {
        let channels = params.channels.as_ref().map_or(0, |c| c.count() as u64);
        let rate = params.sample_rate.filter(|r| *r > 0).map_or(u64::from(MIN_SAMPLE_RATE), u64::from);
        check_format(rate, channels)?;
    }
    let codec = params.map(|p| p.codec);
    let source_codec = codec.map(|c| codec_name(c, mp4_info.as_ref())).unwrap_or_else(|| "unknown".into());
    if let Some(layout) = mp4_info.as_ref().and_then(|i| i.pcm.as_ref()).filter(|_| source_codec == "pcm") {
        let start = Start {
            id3: id3_tag(format.as_mut(), track_id, options)?,
            skip: trim(mp4_info.as_ref(), layout.rate).0,
            limit: trim(mp4_info.as_ref(), layout.rate).1,
        };
        let mut feed = Feed::new(sink, options);
        feed.normalise_downmix(!matches!(layout.kind, SampleKind::F32 | SampleKind::F64));
        progress(0.0);
        let cut = mov_pcm::pump(&mut format.into_inner(), layout, &mut feed, start, progress, cancel)?;
        let written = feed.finish()?;
        progress(1.0);
        return Ok(written.report(cut || mp4_info.as_ref().is_some_and(|i| i.truncated), source_codec));
    }
    let mut decoder = make_decoder(&track, &source_codec, mp4_info.as_ref())?;
    // Opus's encoder delay; symphonia's own decoders trim theirs from packet side data. An MP4
    // edit list already starts after it (ffmpeg writes the pre-skip as its media time).
    let pre_skip = match codec {
        Some(CODEC_ID_OPUS) if mp4_info.as_ref().is_none_or(|i| i.edit_start.is_none()) => {
            u64::from(track.delay.or_else(|| opus_pre_skip(extra_data(&track))).unwrap_or(0))
        }
        _ => 0,
    };
    let expected_frames = track.num_frames;
    let progress_total = track.duration.map(|d| d.get()).filter(|d| *d > 0);

    let mut state = LoopState::default();
    let mut reached_limit = false;
    let mut feed = Feed::new(sink, options);
    feed.normalise_downmix(codec.is_some_and(mix::normalises));
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut last_progress = 0.0f32;
    progress(0.0);

    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(MediaError::Cancelled);
        }
        let packet = match catch_unwind(AssertUnwindSafe(|| format.next_packet())) {
            Ok(Ok(Some(p))) => p,
            Ok(Ok(None)) | Ok(Err(SymError::ResetRequired)) => break,
            Ok(Err(SymError::IoError(e))) if e.kind() != ErrorKind::UnexpectedEof => return Err(MediaError::Io(e)),
            Ok(Err(e)) => {
                if feed.decoded == 0 {
                    return Err(MediaError::CorruptInput(format!("cannot read the audio stream ({e})")));
                }
                state.ended_early = true;
                break;
            }
            Err(_) => {
                state.ended_early = true;
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        if let Some(total) = progress_total {
            let p = (packet.pts.get().max(0) as f64 / total as f64).clamp(0.0, 1.0) as f32;
            if p >= last_progress + 0.01 {
                last_progress = p;
                progress(p);
            }
        }

        let decoded = catch_unwind(AssertUnwindSafe(|| decoder.decode(&packet, &mut planes)));
        let Block { frames, rate, channels } = match decoded {
            Ok(Ok(d)) => d,
            Ok(Err(SymError::Unsupported(what))) if feed.decoded == 0 => {
                return Err(MediaError::UnsupportedCodec { codec: format!("{source_codec} ({what})") });
            }
            Ok(Err(_)) | Err(_) => {
                if feed.decoded == 0 && state.bad_in_a_row == 0 {
                    decoder.reset();
                }
                state.bad_in_a_row += 1;
                if state.bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                    if feed.decoded == 0 {
                        return Err(MediaError::CorruptInput("no audio packet could be decoded".into()));
                    }
                    state.ended_early = true;
                    break;
                }
                continue;
            }
        };
        state.bad_in_a_row = 0;
        let pushed = feed
            .push(&planes, frames, rate, &channels, |rate| start(format.as_mut(), track_id, options, mp4_info.as_ref(), pre_skip, rate))?;
        match pushed {
            Pushed::More => {}
            Pushed::Done => {
                reached_limit = true;
                break;
            }
            Pushed::FormatChanged => {
                state.ended_early = true;
                break;
            }
        }
    }

    if !reached_limit {
        let Block { frames, rate, channels } = decoder.drain(&mut planes);
        feed.push(&planes, frames, rate, &channels, |rate| start(format.as_mut(), track_id, options, mp4_info.as_ref(), pre_skip, rate))?;
    }
    let decoded = feed.decoded;
    let written = feed.finish()?;
    // Fewer frames than the container's index promises (a demuxer may just stop at a cut).
    let short_of_index = !reached_limit && expected_frames.is_some_and(|n| decoded + 2048 < n);
    let truncated = cut_container
        || mp4_info.as_ref().is_some_and(|i| i.truncated)
        || short_of_index
        || (state.ended_early && expected_frames.is_none());
    progress(1.0);
    Ok(written.report(truncated, source_codec))
}

#[derive(Default)]
struct LoopState {
    bad_in_a_row: u32,
    ended_early: bool,
}

/// How the output starts, once the first block gives the rate: the ID3 tag, and the frames to
/// skip (an edit list's start, a codec's delay) and to keep.
fn start(
    format: &mut dyn FormatReader,
    track_id: u32,
    options: &Options,
    mp4: Option<&Mp4Info>,
    pre_skip: u64,
    rate: u32,
) -> Result<Start, MediaError> {
    let id3 = id3_tag(format, track_id, options)?;
    let (skip, limit) = trim(mp4, rate);
    Ok(Start { id3, skip: skip.saturating_add(pre_skip), limit })
}

fn id3_tag(format: &mut dyn FormatReader, track_id: u32, options: &Options) -> Result<Vec<u8>, MediaError> {
    SourceTags::read(format, track_id).to_id3(&options.fallback_title).map_err(|e| MediaError::Encoder(format!("id3 tag: {e}")))
}

/// Frames to drop at the start (encoder priming) and to keep, from the MP4 edit list.
fn trim(mp4: Option<&Mp4Info>, rate: u32) -> (u64, Option<u64>) {
    let Some((info, ts)) = mp4.and_then(|i| Some((i, i.timescale.filter(|t| *t > 0)?))) else {
        return (0, None);
    };
    let to_rate = |v: u64| (v as u128 * rate as u128 / ts as u128) as u64;
    (info.edit_start.map(to_rate).unwrap_or(0), info.edit_duration.map(to_rate))
}

/// The first bytes of a seekable source (the source is left at the start), for naming what an
/// unreadable file looks like; empty for a stream.
fn read_head(source: &mut Box<dyn MediaSource>) -> Result<Vec<u8>, MediaError> {
    if !source.is_seekable() {
        return Ok(Vec::new());
    }
    let mut head = Vec::with_capacity(sniff::HEAD);
    source.take(sniff::HEAD as u64).read_to_end(&mut head)?;
    source.seek(SeekFrom::Start(0))?;
    Ok(head)
}

/// No demuxer reads the file: a known kind of file we do not read, or damaged data.
fn unreadable(head: &[u8], why: String) -> MediaError {
    match sniff::identify(head) {
        Some(format) => MediaError::UnsupportedFormat { format: format.into() },
        None => MediaError::CorruptInput(why),
    }
}

fn inspect_mp4(source: &mut Box<dyn MediaSource>) -> Result<Option<Mp4Info>, MediaError> {
    if !source.is_seekable() || !mp4::looks_like_mp4(source)? {
        return Ok(None);
    }
    let info = match mp4::scan(source) {
        Ok(info) => Some(info),
        Err(e) if e.kind() == ErrorKind::InvalidData || e.kind() == ErrorKind::UnexpectedEof => None,
        Err(e) => return Err(MediaError::Io(e)),
    };
    source.seek(SeekFrom::Start(0))?;
    Ok(info)
}
