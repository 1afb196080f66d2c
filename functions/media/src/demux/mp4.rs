//! A small ISO-BMFF (MP4/M4A/MOV) box walker for what symphonia's demuxer ignores: the audio
//! track's edit list (encoder priming and the real length), the sample entry's codec and
//! channel count (to name codecs symphonia cannot decode), and whether the file was cut short.
//!
//! Only box headers and a few small boxes are read; sample tables are skipped by seeking.

#![deny(clippy::arithmetic_side_effects)]

use std::io::{self, Read, Seek, SeekFrom};

/// What the walk found about the first sound track.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mp4Info {
    /// A `moov` box was found.
    pub has_moov: bool,
    /// The file ends before the last top-level box does.
    pub truncated: bool,
    /// Media timescale of the sound track (`mdhd`).
    pub timescale: Option<u32>,
    /// First non-empty edit: media time (in the media timescale) where playback starts.
    pub edit_start: Option<u64>,
    /// Summed length of the edits, converted to the media timescale.
    pub edit_duration: Option<u64>,
    /// The sample entry's four-character code, e.g. `mp4a`, `ac-3`, `Opus`.
    pub fourcc: Option<[u8; 4]>,
    /// Channel count from the audio sample entry.
    pub channels: Option<u16>,
    /// Whether any sound track exists.
    pub has_sound: bool,
    /// Offset of the size field of the top-level box the file ends inside (see `cut::Patched`).
    pub cut_box: Option<u64>,
    /// The ALAC magic cookie, also when it hides in a QuickTime `wave` box (symphonia misses it
    /// there, so ffmpeg-written ALAC in MOV would not be recognised).
    pub alac_cookie: Option<Vec<u8>>,
    /// Where the samples are, for uncompressed PCM (read without symphonia, see `mov_pcm`).
    pub pcm: Option<crate::demux::mov_pcm::PcmLayout>,
    /// Offset of the channel count of a version 0/1 PCM sample entry with more than two
    /// channels, which symphonia refuses: it is shown 2 (see `present`), as `mov_pcm` reads
    /// the samples.
    pub pcm_channels_at: Option<u64>,
    /// Offsets of the type fields of `udta`/`meta` boxes too large to hold in memory (cover
    /// art), to be hidden from symphonia as `free` boxes (see `present`).
    pub oversized: Vec<u64>,
}

/// More children than any real box has (a `moov` holds a few tracks, a `stbl` a few tables).
const MAX_CHILDREN: usize = 4096;
/// Top-level boxes walked (a fragmented MP4 has two per fragment).
const MAX_TOP_LEVEL_BOXES: usize = 1 << 20;

struct BoxHeader {
    pos: u64,
    kind: [u8; 4],
    /// Offset of the payload.
    start: u64,
    /// Offset just past the box (clamped to the file length).
    end: u64,
    truncated: bool,
}

fn read_header<R: Read + Seek>(r: &mut R, pos: u64, limit: u64) -> io::Result<Option<BoxHeader>> {
    if pos.saturating_add(8) > limit {
        return Ok(None);
    }
    r.seek(SeekFrom::Start(pos))?;
    let mut h = [0u8; 8];
    r.read_exact(&mut h)?;
    let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
    let kind = [h[4], h[5], h[6], h[7]];
    let (size, header_len) = match size32 {
        0 => (limit.saturating_sub(pos), 8),
        1 => {
            let mut l = [0u8; 8];
            r.read_exact(&mut l)?;
            (u64::from_be_bytes(l), 16)
        }
        s => (s, 8),
    };
    let start = pos.saturating_add(header_len);
    let end = pos.saturating_add(size);
    if size < header_len || start > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad box size"));
    }
    Ok(Some(BoxHeader { pos, kind, start, end: end.min(limit), truncated: end > limit }))
}

fn read_payload<R: Read + Seek>(r: &mut R, b: &BoxHeader, max: u64) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(b.start))?;
    let len = b.end.saturating_sub(b.start).min(max);
    let mut buf = Vec::with_capacity(len as usize);
    r.take(len).read_to_end(&mut buf)?;
    Ok(buf)
}

use crate::demux::bytes::{be32 as be_u32, be64 as be_u64};

/// Whether the stream starts like an ISO-BMFF file.
pub fn looks_like_mp4<R: Read + Seek>(r: &mut R) -> io::Result<bool> {
    r.seek(SeekFrom::Start(0))?;
    let mut h = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        let n = r.read(&mut h[got..])?;
        if n == 0 {
            break;
        }
        got = got.saturating_add(n);
    }
    r.seek(SeekFrom::Start(0))?;
    Ok(got == 8 && matches!(&h[4..8], b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip"))
}

/// Walks the file. Leaves the position undefined; callers seek back.
pub fn scan<R: Read + Seek>(r: &mut R) -> io::Result<Mp4Info> {
    let len = r.seek(SeekFrom::End(0))?;
    let mut info = Mp4Info::default();
    let mut movie_timescale = None;
    let mut pos = 0;
    let mut boxes = 0usize;
    while let Some(b) = read_header(r, pos, len)? {
        boxes = boxes.saturating_add(1);
        if boxes > MAX_TOP_LEVEL_BOXES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "too many boxes"));
        }
        if b.truncated {
            info.truncated = true;
            info.cut_box = Some(b.pos);
        }
        if &b.kind == b"moov" {
            info.has_moov = true;
            walk_moov(r, &b, &mut info, &mut movie_timescale)?;
        }
        pos = b.end;
    }
    Ok(info)
}

fn children<R: Read + Seek>(r: &mut R, parent: &BoxHeader, skip: u64) -> io::Result<Vec<BoxHeader>> {
    let mut out = Vec::new();
    let mut pos = parent.start.saturating_add(skip);
    while let Some(b) = read_header(r, pos, parent.end)? {
        if out.len() == MAX_CHILDREN {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "too many boxes"));
        }
        pos = b.end;
        out.push(b);
    }
    Ok(out)
}

/// The type field of a metadata box too large to hold, if `b` is one.
fn oversized(b: &BoxHeader) -> Option<u64> {
    let metadata = matches!(&b.kind, b"udta" | b"meta");
    (metadata && b.end.saturating_sub(b.start) > crate::demux::present::MAX_METADATA).then(|| b.pos.saturating_add(4))
}

fn walk_moov<R: Read + Seek>(r: &mut R, moov: &BoxHeader, info: &mut Mp4Info, movie_timescale: &mut Option<u32>) -> io::Result<()> {
    let mut hidden = Vec::new();
    for b in children(r, moov, 0)? {
        hidden.extend(oversized(&b));
        match &b.kind {
            b"mvhd" => {
                let p = read_payload(r, &b, 64)?;
                *movie_timescale = timescale_of(&p);
            }
            b"trak" => {
                hidden.extend(children(r, &b, 0)?.iter().filter_map(oversized));
                if !info.has_sound
                    && let Some(track) = walk_trak(r, &b, movie_timescale.unwrap_or(0))?
                {
                    *info = Mp4Info { has_moov: true, truncated: info.truncated, cut_box: info.cut_box, ..track };
                }
            }
            _ => {}
        }
    }
    info.oversized.extend(hidden);
    Ok(())
}

/// `mvhd`/`mdhd` timescale.
fn timescale_of(p: &[u8]) -> Option<u32> {
    match p.first()? {
        1 => be_u32(p, 20),
        _ => be_u32(p, 12),
    }
}

fn walk_trak<R: Read + Seek>(r: &mut R, trak: &BoxHeader, movie_ts: u32) -> io::Result<Option<Mp4Info>> {
    let mut t = Mp4Info::default();
    let mut edits: Vec<(u64, i64)> = Vec::new();
    for b in children(r, trak, 0)? {
        match &b.kind {
            b"edts" => {
                for e in children(r, &b, 0)? {
                    if &e.kind == b"elst" {
                        edits = parse_elst(&read_payload(r, &e, 1 << 16)?);
                    }
                }
            }
            b"mdia" => {
                for m in children(r, &b, 0)? {
                    match &m.kind {
                        b"hdlr" => {
                            let p = read_payload(r, &m, 32)?;
                            t.has_sound = p.get(8..12) == Some(b"soun");
                        }
                        b"mdhd" => t.timescale = timescale_of(&read_payload(r, &m, 64)?),
                        b"minf" => sample_entry(r, &m, &mut t)?,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !t.has_sound {
        return Ok(None);
    }
    if let Some(media_ts) = t.timescale.filter(|_| !edits.is_empty()) {
        let non_empty: Vec<&(u64, i64)> = edits.iter().filter(|(_, mt)| *mt >= 0).collect();
        if let Some((_, first)) = non_empty.first() {
            t.edit_start = Some(*first as u64);
        }
        let movie_units = non_empty.iter().fold(0u64, |sum, (d, _)| sum.saturating_add(*d));
        if movie_ts > 0 && movie_units > 0 {
            let media_units = u128::from(movie_units).saturating_mul(u128::from(media_ts)).checked_div(u128::from(movie_ts));
            t.edit_duration = media_units.map(|u| u64::try_from(u).unwrap_or(u64::MAX));
        }
    }
    Ok(Some(t))
}

fn parse_elst(p: &[u8]) -> Vec<(u64, i64)> {
    let version = p.first().copied().unwrap_or(0);
    let count = be_u32(p, 4).unwrap_or(0) as usize;
    let entry = if version == 1 { 20 } else { 12 };
    (0..count.min(1024))
        .map_while(|i| {
            let at = crate::demux::bytes::entry(8, i, entry)?;
            if version == 1 {
                Some((be_u64(p, at)?, be_u64(p, at.checked_add(8)?)? as i64))
            } else {
                Some((be_u32(p, at)? as u64, be_u32(p, at.checked_add(4)?)? as i32 as i64))
            }
        })
        .collect()
}

fn sample_entry<R: Read + Seek>(r: &mut R, minf: &BoxHeader, t: &mut Mp4Info) -> io::Result<()> {
    for s in children(r, minf, 0)? {
        if &s.kind != b"stbl" {
            continue;
        }
        let tables = children(r, &s, 0)?;
        let mut stsd = Vec::new();
        for d in &tables {
            if &d.kind == b"stsd" {
                stsd = read_payload(r, d, 512)?;
                // fullbox(4) + entry_count(4) + size(4) + format(4) + reserved(6) + dref(2)
                // + version/revision/vendor(8) + channelcount(2)
                t.fourcc = stsd.get(12..16).and_then(|f| f.try_into().ok());
                t.channels = stsd.get(32..34).map(|c| u16::from_be_bytes([c[0], c[1]]));
                // A version 2 entry has its count further on (32 bits; 3 stands in the old place).
                if stsd.get(24..26) == Some(&[0, 2]) {
                    t.channels = be_u32(&stsd, 56).and_then(|c| u16::try_from(c).ok());
                }
                if t.fourcc == Some(*b"alac") {
                    t.alac_cookie = find_alac_cookie(&stsd[16.min(stsd.len())..]);
                }
            }
        }
        if t.fourcc.is_some_and(|f| crate::demux::mov_pcm::is_pcm_fourcc(&f)) {
            let table = |kind: &[u8; 4]| tables.iter().find(|b| &b.kind == kind);
            let max = crate::demux::mov_pcm::MAX_TABLE;
            let (Some(stsz), Some(stsc)) = (table(b"stsz"), table(b"stsc")) else { continue };
            let (offsets, co64) = match (table(b"stco"), table(b"co64")) {
                (Some(b), _) => (b, false),
                (None, Some(b)) => (b, true),
                _ => continue,
            };
            if stsc.end.saturating_sub(stsc.start) > max || offsets.end.saturating_sub(offsets.start) > max {
                continue;
            }
            let (stsz, stsc, offsets) = (read_payload(r, stsz, 16)?, read_payload(r, stsc, max)?, read_payload(r, offsets, max)?);
            t.pcm = crate::demux::mov_pcm::layout(&stsd, &stsz, &stsc, &offsets, co64);
            let classic = stsd.get(24..26).is_some_and(|v| v[0] == 0 && v[1] < 2);
            if t.pcm.as_ref().is_some_and(|p| classic && p.channels > 2) {
                t.pcm_channels_at = tables.iter().find(|b| &b.kind == b"stsd").map(|b| b.start.saturating_add(32));
            }
        }
    }
    Ok(())
}

/// An `alac` box (full box, 24- or 48-byte cookie) anywhere inside the sample entry.
fn find_alac_cookie(entry: &[u8]) -> Option<Vec<u8>> {
    entry.windows(12).enumerate().find_map(|(i, w)| {
        let size = u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize;
        let ok = &w[4..8] == b"alac" && w[8..12] == [0; 4] && (size == 36 || size == 60);
        ok.then(|| entry.get(i.checked_add(12)?..i.checked_add(size)?).map(<[u8]>::to_vec)).flatten()
    })
}

/// A readable codec name for a sample entry symphonia did not handle.
pub fn codec_name(fourcc: [u8; 4]) -> String {
    match &fourcc {
        b"ac-3" => "ac3".into(),
        b"ec-3" => "eac3".into(),
        b"Opus" => "opus".into(),
        b"alac" => "alac".into(),
        b"dtsc" | b"dtsh" | b"dtsl" | b"dtse" => "dts".into(),
        b"ac-4" => "ac4".into(),
        b"mp4a" => "aac".into(),
        other => String::from_utf8_lossy(other).trim().to_ascii_lowercase(),
    }
}
