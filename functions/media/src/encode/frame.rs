//! MP3 (MPEG audio layer III) frames as LAME writes them: where each one starts, where its
//! slots (the bytes after the header and side info) lie, how far back in earlier frames'
//! slots its main data begins (the bit reservoir), and the block types that decide which
//! frame may follow it. Enough to splice two LAME streams at a frame; not a decoder.

use std::ops::Range;

/// One frame of a stream, by byte offsets into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Header, optional CRC, side info and slots.
    pub bytes: Range<usize>,
    /// Where the slots start (after the side info).
    pub slots: usize,
    /// How many slot bytes before this frame's header its main data starts.
    pub main_data_begin: usize,
    /// The block type of each channel's last granule (0 long, 1 start, 2 short, 3 stop).
    pub last_block_types: [u8; 2],
    /// Bits of main data (scale factors and Huffman code, every granule and channel).
    pub main_data_bits: usize,
}

/// What a frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub mpeg1: bool,
    pub crc: bool,
    pub channels: usize,
    pub kbps: u32,
    pub len: usize,
}

const BITRATES_MPEG1: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_MPEG2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

impl Header {
    /// The layer III header at the start of `b`, if there is one (free format is refused).
    pub fn parse(b: &[u8]) -> Option<Header> {
        if b.len() < 4 || b[0] != 0xFF || b[1] & 0xE0 != 0xE0 || (b[1] >> 1) & 3 != 1 {
            return None;
        }
        let version = (b[1] >> 3) & 3;
        let (mpeg1, rate_base) = match version {
            3 => (true, [44100, 48000, 32000]),
            2 => (false, [22050, 24000, 16000]),
            0 => (false, [11025, 12000, 8000]),
            _ => return None,
        };
        let bitrate_index = usize::from(b[2] >> 4);
        let rate_index = usize::from((b[2] >> 2) & 3);
        if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
            return None;
        }
        let kbps = if mpeg1 { BITRATES_MPEG1 } else { BITRATES_MPEG2 }[bitrate_index];
        let padding = usize::from((b[2] >> 1) & 1);
        let per_frame = if mpeg1 { 144_000 } else { 72_000 };
        let len = (per_frame * kbps / rate_base[rate_index]) as usize + padding;
        Some(Header { mpeg1, crc: b[1] & 1 == 0, channels: if b[3] >> 6 == 3 { 1 } else { 2 }, kbps, len })
    }

    /// Bytes of side info after the header (and CRC).
    pub fn side_info_len(&self) -> usize {
        match (self.mpeg1, self.channels) {
            (true, 1) => 17,
            (true, _) => 32,
            (false, 1) => 9,
            (false, _) => 17,
        }
    }
}

/// The frames of a stream of whole layer III frames; `None` at the first byte that does not
/// start one (or a frame cut short).
pub fn parse(stream: &[u8]) -> Option<Vec<Frame>> {
    let mut frames = Vec::with_capacity(stream.len() / 200);
    let mut at = 0;
    while at < stream.len() {
        let header = Header::parse(&stream[at..])?;
        let side = at + 4 + if header.crc { 2 } else { 0 };
        let slots = side + header.side_info_len();
        if at + header.len > stream.len() || slots > at + header.len {
            return None;
        }
        let (main_data_begin, last_block_types, main_data_bits) = side_info(&header, &stream[side..slots]);
        frames.push(Frame { bytes: at..at + header.len, slots, main_data_begin, last_block_types, main_data_bits });
        at += header.len;
    }
    Some(frames)
}

/// `main_data_begin`, the last granule's block type per channel and the main data's bits, from
/// the side info.
fn side_info(header: &Header, side: &[u8]) -> (usize, [u8; 2], usize) {
    let mut bits = Bits { bytes: side, at: 0 };
    let channels = header.channels;
    let (granules, main_data_begin) = if header.mpeg1 {
        let mdb = bits.read(9);
        bits.skip(if channels == 1 { 5 } else { 3 } + 4 * channels);
        (2, mdb)
    } else {
        let mdb = bits.read(8);
        bits.skip(if channels == 1 { 1 } else { 2 });
        (1, mdb)
    };
    let mut block_types = [0u8; 2];
    let mut main_data_bits = 0;
    for _ in 0..granules {
        for block_type in block_types.iter_mut().take(channels) {
            main_data_bits += bits.read(12) as usize;
            // big_values, global_gain, scalefac_compress
            bits.skip(9 + 8 + if header.mpeg1 { 4 } else { 9 });
            if bits.read(1) == 1 {
                *block_type = bits.read(2) as u8;
                // mixed_block_flag, two table_selects, three subblock_gains
                bits.skip(1 + 10 + 9);
            } else {
                *block_type = 0;
                // three table_selects, region0_count, region1_count
                bits.skip(15 + 4 + 3);
            }
            // (preflag,) scalefac_scale, count1table_select
            bits.skip(if header.mpeg1 { 3 } else { 2 });
        }
    }
    if channels == 1 {
        block_types[1] = block_types[0];
    }
    (main_data_begin as usize, block_types, main_data_bits)
}

/// Follows the bit reservoir through `frames`, from `free` slot bytes left unused before the
/// first: each frame's main data must begin within what is free (and within the format's
/// reach) and end within its own slots. The bytes left free after the last frame, or the
/// index of the first frame a decoder could not read.
pub fn follow_reservoir(frames: &[Frame], mpeg1: bool, mut free: usize) -> Result<usize, usize> {
    let reach = if mpeg1 { 511 } else { 255 };
    for (i, frame) in frames.iter().enumerate() {
        let room = frame.main_data_begin + (frame.bytes.end - frame.slots);
        let used = frame.main_data_bits.div_ceil(8);
        if frame.main_data_begin > free.min(reach) || used > room {
            return Err(i);
        }
        free = room - used;
    }
    Ok(free)
}

/// A big-endian bit reader over side info (whose length the header fixed: never short).
struct Bits<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: usize) -> u32 {
        let mut value = 0;
        for _ in 0..n {
            let bit = self.bytes.get(self.at / 8).map_or(0, |b| (b >> (7 - self.at % 8)) & 1);
            value = value << 1 | u32::from(bit);
            self.at += 1;
        }
        value
    }

    fn skip(&mut self, n: usize) {
        self.at += n;
    }
}

/// The `n` slot bytes that end where frame `end` (an index into `frames`) starts: the bit
/// reservoir frame `end` reads from, as positions into the stream (oldest first).
pub fn reservoir(frames: &[Frame], end: usize, n: usize) -> Option<Vec<Range<usize>>> {
    let mut left = n;
    let mut ranges = Vec::new();
    for frame in frames[..end].iter().rev() {
        if left == 0 {
            break;
        }
        let take = left.min(frame.bytes.end - frame.slots);
        ranges.push(frame.bytes.end - take..frame.bytes.end);
        left -= take;
    }
    ranges.reverse();
    (left == 0).then_some(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_gives_the_frame_length_and_side_info() {
        // MPEG-1 layer III, no CRC, 128 kbps, 44.1 kHz, no padding, joint stereo.
        let h = Header::parse(&[0xFF, 0xFB, 0x90, 0x44]).unwrap();
        assert_eq!(h, Header { mpeg1: true, crc: false, channels: 2, kbps: 128, len: 417 });
        assert_eq!(h.side_info_len(), 32);
        // With padding: one byte more.
        assert_eq!(Header::parse(&[0xFF, 0xFB, 0x92, 0x44]).unwrap().len, 418);
        // MPEG-2, 64 kbps, 22.05 kHz, mono: 72000 * 64 / 22050 = 208 bytes.
        let h = Header::parse(&[0xFF, 0xF3, 0x80, 0xC4]).unwrap();
        assert_eq!(h, Header { mpeg1: false, crc: false, channels: 1, kbps: 64, len: 208 });
        assert_eq!(h.side_info_len(), 9);
        // Layer II, a bad bitrate, a bad rate: not ours.
        assert_eq!(Header::parse(&[0xFF, 0xFD, 0x90, 0x44]), None);
        assert_eq!(Header::parse(&[0xFF, 0xFB, 0xF0, 0x44]), None);
        assert_eq!(Header::parse(&[0xFF, 0xFB, 0x9C, 0x44]), None);
    }

    #[test]
    fn side_info_gives_main_data_begin_and_block_types() {
        // MPEG-1 mono: main_data_begin 300 (9 bits), then granule 0 long, granule 1 short.
        let mut side = [0u8; 17];
        let mut w = BitWriter::new(&mut side);
        w.put(300, 9);
        w.put(0, 5 + 4); // private bits, scfsi
        w.put(0, 12 + 9 + 8 + 4);
        w.put(0, 1); // window switching off
        w.put(0, 15 + 4 + 3 + 3);
        w.put(0, 12 + 9 + 8 + 4);
        w.put(1, 1); // window switching on
        w.put(2, 2); // short blocks
        let h = Header { mpeg1: true, crc: false, channels: 1, kbps: 128, len: 417 };
        assert_eq!(side_info(&h, &side), (300, [2, 2], 0));
    }

    #[test]
    fn the_reservoir_spans_earlier_frames_slots() {
        // Frames of 10 bytes with 6 slot bytes each (at 4..10, 14..20, 24..30).
        let frames: Vec<Frame> = (0..3)
            .map(|i| Frame {
                bytes: i * 10..i * 10 + 10,
                slots: i * 10 + 4,
                main_data_begin: 0,
                last_block_types: [0, 0],
                main_data_bits: 0,
            })
            .collect();
        assert_eq!(reservoir(&frames, 2, 8), Some(vec![8..10, 14..20]));
        assert_eq!(reservoir(&frames, 2, 0), Some(vec![]));
        assert_eq!(reservoir(&frames, 1, 7), None);
    }

    #[test]
    fn following_the_reservoir_finds_the_first_frame_a_decoder_cannot_read() {
        let frame = |i: usize, main_data_begin: usize, bytes: usize| Frame {
            bytes: i * 10..i * 10 + 10,
            slots: i * 10 + 4,
            main_data_begin,
            last_block_types: [0, 0],
            main_data_bits: bytes * 8,
        };
        // 6 slot bytes each: 2 used leaves 4; the next borrows 4 and uses 10 (all it has).
        assert_eq!(follow_reservoir(&[frame(0, 0, 2), frame(1, 4, 10)], true, 0), Ok(0));
        // Borrowing 5 when 4 are free.
        assert_eq!(follow_reservoir(&[frame(0, 0, 2), frame(1, 5, 3)], true, 0), Err(1));
        // Using more than its slots and what it borrowed.
        assert_eq!(follow_reservoir(&[frame(0, 0, 7)], true, 0), Err(0));
        // Past MPEG-2's reach of 255 bytes.
        assert_eq!(follow_reservoir(&[frame(0, 256, 1)], false, 300), Err(0));
    }

    struct BitWriter<'a> {
        bytes: &'a mut [u8],
        at: usize,
    }

    impl<'a> BitWriter<'a> {
        fn new(bytes: &'a mut [u8]) -> Self {
            BitWriter { bytes, at: 0 }
        }

        fn put(&mut self, value: u64, n: usize) {
            for i in (0..n).rev() {
                if (value >> i) & 1 == 1 {
                    self.bytes[self.at / 8] |= 0x80 >> (self.at % 8);
                }
                self.at += 1;
            }
        }
    }
}
