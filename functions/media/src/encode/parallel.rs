//! LAME on several threads for one stream, gapless: the PCM is cut into segments of
//! [`SEGMENT_FRAMES`] MP3 frames; each segment is encoded by a LAME instance of its own,
//! starting some frames early ([`PREROLL_FRAMES_VBR`], [`PREROLL_FRAMES_CBR`]: so that its
//! psychoacoustics, MDCT and bit allocation have warmed up) and running [`OVERLAP_FRAMES`]
//! past its end; the streams are spliced at a frame in that overlap, and one LAME/Xing tag is
//! written for the whole.
//!
//! Segments start at multiples of the frame size, so frame `j` of every instance's stream is
//! frame `start / frame + j` of the one stream (LAME's delay is fixed). The splice takes the
//! earlier stream's frames before frame `k` and the later one's from `k` on: the later
//! frames' main data may begin up to 511 bytes back in the bit reservoir, in frames of the
//! later stream that are dropped, so those bytes are copied into the reservoir the earlier
//! stream left before `k` — which is why `k` must be a frame where that reservoir is at least
//! as large, and where both streams chose the same block type just before it (so the window
//! sequence stays valid). Where no frame in the overlap has that room, the frame before the
//! splice is given a higher bitrate; that header aside, every byte written is one of LAME's.
//!
//! Memory is bounded: one segment of PCM per thread is being encoded or waits for a
//! thread, one is being filled, and encoded segments wait only for their predecessors; see
//! [`threads_within`] for what a thread costs.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::encode::frame::{self, Frame};
use crate::encode::lame::Mp3Encoder;
use crate::encode::lame_tag::{self, SeekTable, StreamFacts};
use crate::encode::thread::full_scale;
use crate::{MediaError, Preset};

/// MP3 frames per segment (about 10 s at 44.1 kHz): the pre-roll and overlap cost 2.6% more
/// LAME work in VBR, 10% in CBR.
pub const SEGMENT_FRAMES: usize = 384;
/// Frames a segment's encoder starts before the segment, to warm up, in VBR: its stream is
/// the serial encode's from the fourth frame on (measured).
pub const PREROLL_FRAMES_VBR: usize = 4;
/// The same for CBR: LAME's CBR bit allocation takes longer to reach the state one encoder
/// running from the start is in (measured on onsets right after a splice: 1 to 2 dB more
/// noise there than the serial encode with 4 or 8 frames, 0.1 dB with 32).
pub const PREROLL_FRAMES_CBR: usize = 32;
/// Frames a segment's encoder runs past the segment: where the splice is looked for. Where
/// every one of the first [`NEAR_FRAMES`] follows a frame at the top bitrate that is short of
/// the later stream's reservoir, no splice there is possible; loud 5.1 films hit that about once
/// in ten minutes (2 of 12 ten-minute files failed with 6 frames of overlap, none with 16).
pub const OVERLAP_FRAMES: usize = 16;
/// The frames after the boundary tried first.
pub const NEAR_FRAMES: usize = 5;
/// A worker's stack: LAME's deepest call needs well under 200 KiB; the default 2 MiB would
/// count against the conversion's memory limit for each thread.
const WORKER_STACK: usize = 1 << 20;
/// Samples per channel handed to LAME at once.
const LAME_BLOCK: usize = 8192;
/// LAME's encoder delay, in samples.
const ENCODER_DELAY: usize = 576;

/// The most threads a conversion may use within `memory_bytes` (at least one): what one
/// conversion needs besides (demuxer, decoder, I/O buffers, one segment being filled), then
/// per thread a segment of stereo PCM at the longest pre-roll, a LAME instance, its output and
/// its stack.
pub fn threads_within(memory_bytes: u64) -> usize {
    const BASE: u64 = 24 << 20;
    const PER_THREAD: u64 = 6 << 20;
    (memory_bytes.saturating_sub(BASE) / PER_THREAD).max(1) as usize
}

struct Job {
    index: usize,
    /// The stream frame the segment's input starts at.
    first: usize,
    left: Vec<f32>,
    right: Vec<f32>,
}

/// One segment's stream, parsed.
struct Encoded {
    bytes: Vec<u8>,
    /// Audio frames (segment 0's tag frame not among them).
    frames: Vec<Frame>,
    /// The stream frame index of `frames[0]`.
    first: usize,
    /// Segment 0's final LAME/Xing tag frame (none if LAME wrote none).
    tag: Vec<u8>,
}

pub struct ParallelEncoder {
    channels: usize,
    frame: usize,
    fill: [Vec<f32>; 2],
    next_index: usize,
    samples: u64,
    jobs: Option<SyncSender<Job>>,
    results: Receiver<(usize, Result<Encoded, MediaError>)>,
    workers: Vec<JoinHandle<()>>,
    in_flight: usize,
    max_in_flight: usize,
    preroll: usize,
    ready: BTreeMap<usize, Encoded>,
    splice: Splice,
}

impl ParallelEncoder {
    pub fn spawn(rate: u32, channels: usize, preset: Preset, threads: usize) -> Result<ParallelEncoder, MediaError> {
        // Fail here, not in a worker, on a setting LAME refuses.
        Mp3Encoder::new(rate, channels, preset, true)?;
        let frame = if rate >= 32000 { 1152 } else { 576 };
        let first_len = (SEGMENT_FRAMES + OVERLAP_FRAMES) * frame;
        let (jobs, job_rx) = sync_channel::<Job>(1);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (result_tx, results) = channel();
        let mut workers = Vec::with_capacity(threads);
        for n in 0..threads.max(1) {
            let (job_rx, result_tx) = (job_rx.clone(), result_tx.clone());
            let worker = std::thread::Builder::new()
                .name(format!("lame-{n}"))
                .stack_size(WORKER_STACK)
                .spawn(move || {
                    loop {
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let index = job.index;
                        // A panic must come back as an error: the others would wait for it.
                        let encode = std::panic::AssertUnwindSafe(|| encode_segment(rate, channels, preset, job));
                        let result = std::panic::catch_unwind(encode)
                            .unwrap_or_else(|_| Err(MediaError::Encoder("an encoder thread panicked".into())));
                        if result_tx.send((index, result)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(MediaError::Io)?;
            workers.push(worker);
        }
        Ok(ParallelEncoder {
            channels,
            frame,
            fill: [Vec::with_capacity(first_len), Vec::with_capacity(if channels == 2 { first_len } else { 0 })],
            next_index: 0,
            samples: 0,
            jobs: Some(jobs),
            results,
            workers,
            in_flight: 0,
            // One more is being filled: no worker waits for the decoder, which is far faster.
            max_in_flight: threads.max(1),
            preroll: match preset {
                Preset::Vbr(_) => PREROLL_FRAMES_VBR,
                Preset::Cbr(_) => PREROLL_FRAMES_CBR,
            },
            ready: BTreeMap::new(),
            splice: Splice::new(frame),
        })
    }

    /// Samples per channel of segment `index`'s input.
    fn segment_len(&self, index: usize) -> usize {
        let frames = SEGMENT_FRAMES + OVERLAP_FRAMES + if index == 0 { 0 } else { self.preroll };
        frames * self.frame
    }

    /// Takes one block (`right` = `left` for mono), starting every segment that is complete
    /// and handing what is spliced to `write`.
    pub fn encode(
        &mut self,
        left: &[f32],
        right: &[f32],
        write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>,
    ) -> Result<(), MediaError> {
        self.samples += left.len() as u64;
        let mut at = 0;
        while at < left.len() {
            let len = self.segment_len(self.next_index);
            let take = (len - self.fill[0].len()).min(left.len() - at);
            self.fill[0].extend_from_slice(&left[at..at + take]);
            if self.channels == 2 {
                self.fill[1].extend_from_slice(&right[at..at + take]);
            }
            at += take;
            if self.fill[0].len() == len {
                // The next segment starts with this one's last frames (its pre-roll and our
                // overlap); each buffer is allocated once, at its full size.
                let carry = (self.preroll + OVERLAP_FRAMES) * self.frame;
                let next_len = self.segment_len(self.next_index + 1);
                let next = |done: &[f32]| {
                    let mut v = Vec::with_capacity(next_len);
                    v.extend_from_slice(&done[done.len() - carry..]);
                    v
                };
                let right = if self.channels == 2 { next(&self.fill[1]) } else { Vec::new() };
                let left = next(&self.fill[0]);
                let left = std::mem::replace(&mut self.fill[0], left);
                let right = std::mem::replace(&mut self.fill[1], right);
                self.dispatch(left, right, write)?;
            }
        }
        self.collect(false, write)
    }

    fn dispatch(
        &mut self,
        left: Vec<f32>,
        right: Vec<f32>,
        write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>,
    ) -> Result<(), MediaError> {
        while self.in_flight >= self.max_in_flight {
            self.collect(true, write)?;
        }
        let first = if self.next_index == 0 { 0 } else { self.next_index * SEGMENT_FRAMES - self.preroll };
        let job = Job { index: self.next_index, first, left, right };
        self.next_index += 1;
        self.in_flight += 1;
        match &self.jobs {
            Some(jobs) if jobs.send(job).is_ok() => Ok(()),
            _ => Err(MediaError::Encoder("the encoder threads stopped".into())),
        }
    }

    /// Splices and writes the segments done so far, in order; with `wait`, waits for one.
    fn collect(&mut self, wait: bool, write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>) -> Result<(), MediaError> {
        let mut wait = wait;
        loop {
            let received = if wait { self.results.recv().ok() } else { self.results.try_recv().ok() };
            let Some((index, result)) = received else {
                if wait {
                    return Err(MediaError::Encoder("an encoder thread crashed".into()));
                }
                return Ok(());
            };
            wait = false;
            self.in_flight -= 1;
            self.ready.insert(index, result?);
            while let Some(encoded) = self.ready.remove(&self.splice.next_index) {
                self.splice.push(encoded, write)?;
            }
        }
    }

    /// Encodes what is left and returns the whole stream's tag frame, to be written over the
    /// placeholder at the stream's start.
    pub fn finish(&mut self, write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>) -> Result<Vec<u8>, MediaError> {
        let left = std::mem::take(&mut self.fill[0]);
        let right = std::mem::take(&mut self.fill[1]);
        self.dispatch(left, right, write)?;
        let last = self.next_index - 1;
        while self.splice.next_index <= last {
            self.collect(true, write)?;
        }
        self.splice.finish(self.samples, write)
    }
}

impl Drop for ParallelEncoder {
    fn drop(&mut self) {
        // Closing the queue ends the threads; wait so LAME's memory is freed before we return.
        drop(self.jobs.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn encode_segment(rate: u32, channels: usize, preset: Preset, job: Job) -> Result<Encoded, MediaError> {
    let Job { index, first, mut left, mut right } = job;
    full_scale(&mut left);
    full_scale(&mut right);
    let mut lame = Mp3Encoder::new(rate, channels, preset, index == 0)?;
    let right = if channels == 2 { &right[..] } else { &left[..] };
    // In blocks: LAME copies each call's input, and sizes its output for it.
    let mut bytes = Vec::with_capacity(SEGMENT_FRAMES * 1200);
    for (l, r) in left.chunks(LAME_BLOCK).zip(right.chunks(LAME_BLOCK)) {
        bytes.extend_from_slice(lame.encode(l, r)?);
    }
    bytes.extend_from_slice(lame.flush()?);
    let mut frames = frame::parse(&bytes).ok_or_else(|| MediaError::Encoder("LAME wrote a stream we cannot parse".into()))?;
    // LAME leaves the tag out where it does not fit in a frame (e.g. CBR 48 kbps at 22.05 kHz).
    let tag = if index == 0 { lame.lame_tag() } else { Vec::new() };
    if !tag.is_empty() {
        frames.remove(0);
    }
    Ok(Encoded { bytes, frames, first, tag })
}

/// Joins the segments' streams in order.
struct Splice {
    frame: usize,
    next_index: usize,
    /// The last segment pushed, from `from_byte` / `from_frame` on not yet written.
    held: Option<(Encoded, usize, usize)>,
    tag: Vec<u8>,
    frames: u32,
    bytes: u64,
    music_crc: u16,
    seek: SeekTable,
    /// Reservoir bytes free after the frames written.
    free: usize,
    /// Splices made, and how many of them enlarged a frame ([`join`]).
    splices: usize,
    enlarged: usize,
}

impl Splice {
    fn new(frame: usize) -> Splice {
        Splice {
            frame,
            next_index: 0,
            held: None,
            tag: Vec::new(),
            frames: 0,
            bytes: 0,
            music_crc: 0,
            seek: SeekTable::default(),
            free: 0,
            splices: 0,
            enlarged: 0,
        }
    }

    fn push(&mut self, next: Encoded, write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>) -> Result<(), MediaError> {
        self.next_index += 1;
        let Some((held, from_byte, from_frame)) = self.held.take() else {
            self.tag = next.tag.clone();
            self.held = Some((next, 0, 0));
            return Ok(());
        };
        let boundary = (self.next_index - 1) * SEGMENT_FRAMES;
        // The first frames after the boundary, then (rarely: where every frame before them is
        // at the top bitrate and short of reservoir) the rest of the overlap.
        let (out, enlarged, b) = [boundary..boundary + NEAR_FRAMES, boundary + NEAR_FRAMES..boundary + OVERLAP_FRAMES - 1]
            .into_iter()
            .flat_map(|frames| splice_candidates(&held, from_frame, &next, frames))
            .find_map(|(a, b)| join(&held, from_byte, from_frame, a, &next, b).map(|(out, enlarged)| (out, enlarged, b)))
            .ok_or_else(|| MediaError::Encoder(format!("the encoders' streams do not join anywhere near frame {boundary}")))?;
        self.splices += 1;
        self.enlarged += usize::from(enlarged);
        self.emit(&out, write)?;
        let from_byte = next.frames[b].bytes.start;
        self.held = Some((next, from_byte, b));
        Ok(())
    }

    /// Writes `out`, whole frames (the first time, the tag frame first), counting them, once
    /// it is sure a decoder can follow the reservoir through them.
    fn emit(&mut self, out: &[u8], write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>) -> Result<(), MediaError> {
        let frames = frame::parse(out).ok_or_else(|| MediaError::Encoder("a spliced stream is not whole frames".into()))?;
        let tag_frame = usize::from(self.bytes == 0 && !self.tag.is_empty());
        let audio = &frames[tag_frame.min(frames.len())..];
        let mpeg1 = self.frame == 1152;
        self.free = frame::follow_reservoir(audio, mpeg1, self.free)
            .map_err(|i| MediaError::Encoder(format!("the spliced stream's bit reservoir breaks at frame {}", self.frames as usize + i)))?;
        let music = audio.first().map_or(out.len(), |f| f.bytes.start);
        self.music_crc = lame_tag::crc16(self.music_crc, &out[music..]);
        for f in audio {
            self.seek.add(frame::Header::parse(&out[f.bytes.start..]).map_or(0, |h| h.kbps));
            self.frames += 1;
        }
        self.bytes += out.len() as u64;
        write(out)
    }

    fn finish(&mut self, samples: u64, write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>) -> Result<Vec<u8>, MediaError> {
        let Some((held, from_byte, _)) = self.held.take() else {
            return Err(MediaError::Encoder("nothing was encoded".into()));
        };
        self.emit(&held.bytes[from_byte..], write)?;
        let padding = (u64::from(self.frames) * self.frame as u64).saturating_sub(ENCODER_DELAY as u64 + samples);
        let facts = StreamFacts {
            frames: self.frames,
            bytes: self.bytes as u32,
            padding: padding as u32,
            music_crc: self.music_crc,
            toc: self.seek.toc(),
        };
        let mut tag = std::mem::take(&mut self.tag);
        if tag.is_empty() {
            return Ok(tag);
        }
        if !lame_tag::patch(&mut tag, &facts) {
            return Err(MediaError::Encoder("LAME's tag frame is not one we can rewrite".into()));
        }
        Ok(tag)
    }
}

/// The frames to splice `earlier` and `later` at, best first, as indices into each one's
/// frames: among the stream frames `frames` (in the overlap); first where both chose the same block types just
/// before it, and among those first where the earlier one's reservoir takes the later one's
/// as it is, then the ones short of the fewest bytes ([`join`] makes room, if it can).
fn splice_candidates(earlier: &Encoded, from_frame: usize, later: &Encoded, frames: std::ops::Range<usize>) -> Vec<(usize, usize)> {
    let candidates = frames.filter_map(|k| {
        let a = k.checked_sub(earlier.first)?;
        let b = k.checked_sub(later.first)?;
        if a <= from_frame || a >= earlier.frames.len() || b == 0 || b >= later.frames.len() {
            return None;
        }
        let continues = earlier.frames[a - 1].last_block_types == later.frames[b - 1].last_block_types;
        let short = later.frames[b].main_data_begin.saturating_sub(earlier.frames[a].main_data_begin);
        Some((!continues, short, a, b))
    });
    let mut candidates: Vec<_> = candidates.collect();
    candidates.sort_by_key(|&(breaks, short, a, _)| (breaks, short > 0, short, a));
    candidates.into_iter().map(|(_, _, a, b)| (a, b)).collect()
}

/// The earlier stream's bytes from `from_byte` (frame `from_frame`) up to its frame `a`,
/// with its reservoir before `a` replaced by the later stream's before `b`; when that one is
/// larger, the frame before the splice is written at a higher bitrate (a frame's slots end
/// at the next header, after its own main data, so the extra slots extend the reservoir);
/// and whether it was.
fn join(earlier: &Encoded, from_byte: usize, from_frame: usize, a: usize, later: &Encoded, b: usize) -> Option<(Vec<u8>, bool)> {
    let ours = earlier.frames[a].main_data_begin;
    let theirs = later.frames[b].main_data_begin;
    let end = earlier.frames[a].bytes.start;
    let mut out = earlier.bytes[from_byte..end].to_vec();
    let mut frames: Vec<Frame> = earlier.frames[from_frame..a]
        .iter()
        .map(|f| Frame { bytes: f.bytes.start - from_byte..f.bytes.end - from_byte, slots: f.slots - from_byte, ..f.clone() })
        .collect();
    let mut room = ours;
    if theirs > ours {
        let last = frames.last_mut()?;
        let extra = enlarge(&mut out[last.bytes.start..last.bytes.start + 4], theirs - ours)?;
        out.resize(out.len() + extra, 0);
        last.bytes.end += extra;
        room += extra;
    }
    for range in frame::reservoir(&frames, frames.len(), room)? {
        out[range].fill(0);
    }
    let source = frame::reservoir(&later.frames, b, theirs)?.into_iter().flat_map(|r| later.bytes[r].iter().copied());
    let target = frame::reservoir(&frames, frames.len(), theirs)?.into_iter().flatten();
    for (at, byte) in target.zip(source) {
        out[at] = byte;
    }
    Some((out, theirs > ours))
}

/// Raises the bitrate in `header` (the same padding bit) until the frame is at least `more`
/// bytes longer; the bytes added, or `None` past the highest bitrate.
fn enlarge(header: &mut [u8], more: usize) -> Option<usize> {
    let before = frame::Header::parse(header)?;
    if before.crc {
        return None;
    }
    let index = header[2] >> 4;
    for higher in index + 1..15 {
        let candidate = [header[0], header[1], (higher << 4) | (header[2] & 0x0F), header[3]];
        let after = frame::Header::parse(&candidate)?;
        if after.len >= before.len + more {
            header.copy_from_slice(&candidate);
            return Some(after.len - before.len);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::lame_tag::tests::facts_of;

    /// A tone with bursts of noise and silences: block switching, a varying reservoir.
    fn program(rate: u32, samples: usize, seed: u32) -> Vec<f32> {
        let mut x = seed;
        (0..samples)
            .map(|i| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let t = i as f32 / rate as f32;
                let noise = ((x >> 9) as f32 / (1u32 << 23) as f32 - 0.5) * 0.6;
                let phase = (t * 1.7) % 3.0;
                let tone = (t * (200.0 + 800.0 * (t * 0.1).sin().abs()) * std::f32::consts::TAU).sin() * 0.4;
                if phase < 1.0 {
                    tone
                } else if phase < 1.3 {
                    0.0
                } else if phase < 2.0 {
                    noise
                } else {
                    tone * 0.5 + noise * 0.3
                }
            })
            .collect()
    }

    /// The whole stream (tag frame in place, if LAME made one) and the splicer, for its counts.
    fn encode_parallel(rate: u32, channels: usize, preset: Preset, left: &[f32], right: &[f32]) -> (Vec<u8>, Splice) {
        let mut encoder = ParallelEncoder::spawn(rate, channels, preset, 2).unwrap();
        let mut out = Vec::new();
        let mut write = |b: &[u8]| {
            out.extend_from_slice(b);
            Ok(())
        };
        // Blocks that do not divide a segment, as the pipeline hands them over.
        for (l, r) in left.chunks(5000).zip(right.chunks(5000)) {
            encoder.encode(l, r, &mut write).unwrap();
        }
        let tag = encoder.finish(&mut write).unwrap();
        out[..tag.len()].copy_from_slice(&tag);
        let mut splice = std::mem::replace(&mut encoder.splice, Splice::new(0));
        splice.tag = tag;
        (out, splice)
    }

    fn encode_serial(rate: u32, channels: usize, preset: Preset, left: &[f32], right: &[f32]) -> Vec<u8> {
        let (mut left, mut right) = (left.to_vec(), right.to_vec());
        full_scale(&mut left);
        full_scale(&mut right);
        let mut lame = Mp3Encoder::new(rate, channels, preset, true).unwrap();
        let mut out = lame.encode(&left, &right).unwrap().to_vec();
        out.extend_from_slice(lame.flush().unwrap());
        out
    }

    const CASES: [(u32, usize, Preset); 7] = [
        (22050, 1, Preset::Cbr(48)),
        (44100, 2, Preset::Vbr(2)),
        (44100, 2, Preset::Cbr(128)),
        (48000, 1, Preset::Cbr(320)),
        (24000, 2, Preset::Vbr(0)),
        (22050, 1, Preset::Vbr(4)),
        (8000, 1, Preset::Cbr(32)),
    ];

    #[test]
    fn a_spliced_stream_is_frames_a_decoder_can_follow_as_many_as_one_lame_writes() {
        let (mut splices, mut enlarged) = (0, 0);
        for (rate, channels, preset) in CASES {
            let frame = if rate >= 32000 { 1152 } else { 576 };
            // Three splices, and a last segment shorter than the others.
            let samples = (3 * SEGMENT_FRAMES + SEGMENT_FRAMES / 2) * frame + 321;
            let (left, right) = (program(rate, samples, 1), program(rate, samples, 7));
            let (stream, splice) = encode_parallel(rate, channels, preset, &left, &right);
            let case = format!("{rate} Hz, {channels} channels, {preset}");
            let frames = frame::parse(&stream).unwrap_or_else(|| panic!("{case}: not whole frames"));
            let mpeg1 = rate >= 32000;
            let audio = &frames[usize::from(!splice.tag.is_empty())..];
            assert_eq!(frame::follow_reservoir(audio, mpeg1, 0).err(), None, "{case}: a frame reads past its reservoir");
            let serial = frame::parse(&encode_serial(rate, channels, preset, &left, &right)).unwrap();
            assert_eq!(frames.len(), serial.len(), "{case}: frames, against one LAME's");
            assert_eq!(splice.splices, 3, "{case}");
            splices += splice.splices;
            enlarged += splice.enlarged;
        }
        // Both ways of joining ran: as they were, and with the frame before the splice enlarged.
        assert!(enlarged > 0 && enlarged < splices, "{enlarged} of {splices} splices enlarged a frame");
    }

    #[test]
    fn the_tag_of_a_spliced_stream_says_what_the_stream_is() {
        for (rate, channels, preset) in CASES {
            let frame = if rate >= 32000 { 1152 } else { 576 };
            let samples = (SEGMENT_FRAMES + 10) * frame + 77;
            let (left, right) = (program(rate, samples, 3), program(rate, samples, 4));
            let (stream, splice) = encode_parallel(rate, channels, preset, &left, &right);
            if splice.tag.is_empty() {
                // Too small a frame for the tag: LAME writes none, and so do we.
                assert!(!stream.windows(4).take(64).any(|w| w == b"Info" || w == b"Xing"));
                continue;
            }
            let tag_len = frame::parse(&stream).unwrap()[0].bytes.len();
            let mut expected = stream[..tag_len].to_vec();
            assert!(lame_tag::patch(&mut expected, &facts_of(&stream, samples)));
            assert_eq!(&stream[..tag_len], &expected[..], "{rate} Hz, {channels} channels, {preset}");
        }
    }

    #[test]
    fn a_stream_of_one_segment_or_none_is_whole() {
        let one_segment = (SEGMENT_FRAMES + OVERLAP_FRAMES) * 1152;
        for samples in [0, 1, 1152 * 3, one_segment - 1, one_segment, one_segment + 1000] {
            let signal = program(44100, samples, 5);
            let (stream, splice) = encode_parallel(44100, 2, Preset::Vbr(2), &signal, &signal);
            let frames = frame::parse(&stream).unwrap();
            assert_eq!(frames.len(), frame::parse(&encode_serial(44100, 2, Preset::Vbr(2), &signal, &signal)).unwrap().len());
            assert_eq!(splice.splices, usize::from(samples >= one_segment), "{samples} samples");
        }
    }
}
