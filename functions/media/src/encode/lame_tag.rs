//! The LAME/Xing tag frame ("Info" for CBR, "Xing" for VBR) rewritten for a stream that
//! several LAME instances made: its frame count, byte count, seek table (TOC), end padding,
//! music length and the two CRCs, computed as LAME computes them (LAME 3.100, `VbrTag.c`),
//! so that the spliced stream's tag is the one one LAME instance would have written.

/// How the spliced stream came out, for its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFacts {
    /// Audio frames (the tag frame not counted).
    pub frames: u32,
    /// Every byte of the stream, the tag frame included.
    pub bytes: u32,
    /// Samples of silence LAME appended after the last input sample.
    pub padding: u32,
    /// CRC-16 of the audio frames' bytes (the tag frame not included).
    pub music_crc: u16,
    pub toc: [u8; 100],
}

/// Writes `facts` into `tag`, a tag frame LAME made; `false` if it is not one.
pub fn patch(tag: &mut [u8], facts: &StreamFacts) -> bool {
    let Some(header) = crate::encode::frame::Header::parse(tag) else { return false };
    let x = 4 + header.side_info_len();
    if tag.len() < x + 156 || !(&tag[x..x + 4] == b"Info" || &tag[x..x + 4] == b"Xing") || &tag[x + 120..x + 124] != b"LAME" {
        return false;
    }
    if u32::from_be_bytes(tag[x + 4..x + 8].try_into().unwrap_or_default()) != 0x0F {
        return false;
    }
    tag[x + 8..x + 12].copy_from_slice(&facts.frames.to_be_bytes());
    tag[x + 12..x + 16].copy_from_slice(&facts.bytes.to_be_bytes());
    tag[x + 16..x + 116].copy_from_slice(&facts.toc);
    // Delay (12 bits, kept) and padding (12 bits).
    let padding = facts.padding.min(0xFFF);
    tag[x + 142] = (tag[x + 142] & 0xF0) | (padding >> 8) as u8;
    tag[x + 143] = padding as u8;
    tag[x + 148..x + 152].copy_from_slice(&facts.bytes.to_be_bytes());
    tag[x + 152..x + 154].copy_from_slice(&facts.music_crc.to_be_bytes());
    let tag_crc = crc16(0, &tag[..x + 154]);
    tag[x + 154..x + 156].copy_from_slice(&tag_crc.to_be_bytes());
    true
}

/// The CRC-16 LAME's tag uses (polynomial 0x8005, reflected), continued from `crc`; a byte
/// at a time through a table, as LAME does (it runs over every byte of the MP3).
pub fn crc16(mut crc: u16, bytes: &[u8]) -> u16 {
    for &b in bytes {
        crc = (crc >> 8) ^ CRC16_TABLE[usize::from((crc as u8) ^ b)];
    }
    crc
}

const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// LAME's seek table, fed one frame's bitrate at a time: 400 cumulative sums, halved in
/// resolution whenever full, so memory stays fixed however long the stream.
pub struct SeekTable {
    bag: Vec<u64>,
    sum: u64,
    seen: u32,
    want: u32,
}

const BAG: usize = 400;

impl Default for SeekTable {
    fn default() -> Self {
        SeekTable { bag: Vec::with_capacity(BAG), sum: 0, seen: 0, want: 1 }
    }
}

impl SeekTable {
    pub fn add(&mut self, kbps: u32) {
        self.sum += u64::from(kbps);
        self.seen += 1;
        if self.seen < self.want {
            return;
        }
        if self.bag.len() < BAG {
            self.bag.push(self.sum);
            self.seen = 0;
        }
        if self.bag.len() == BAG {
            let halved: Vec<u64> = self.bag.iter().skip(1).step_by(2).copied().collect();
            self.bag = halved;
            self.want *= 2;
        }
    }

    /// The 100 TOC entries: entry i is where i% of the stream starts, in 256ths of its size.
    pub fn toc(&self) -> [u8; 100] {
        let mut toc = [0u8; 100];
        let pos = self.bag.len();
        if pos == 0 || self.sum == 0 {
            return toc;
        }
        for (i, entry) in toc.iter_mut().enumerate().skip(1) {
            let j = i as f32 / 100.0;
            let index = ((j * pos as f32).floor() as usize).min(pos - 1);
            let act = self.bag[index] as f32;
            let sum = self.sum as f32;
            *entry = ((256.0 * f64::from(act) / f64::from(sum)) as i64).min(255) as u8;
        }
        toc
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Preset;
    use crate::encode::frame;
    use crate::encode::lame::Mp3Encoder;

    /// What the tag of a serial encode would say, worked out from its stream alone.
    pub(crate) fn facts_of(stream: &[u8], samples: usize) -> StreamFacts {
        let frames = frame::parse(stream).expect("whole frames");
        let audio = &frames[1..];
        let mut seek = SeekTable::default();
        for f in audio {
            seek.add(frame::Header::parse(&stream[f.bytes.start..]).unwrap().kbps);
        }
        let per_frame = if frame::Header::parse(stream).unwrap().mpeg1 { 1152 } else { 576 };
        StreamFacts {
            frames: audio.len() as u32,
            bytes: stream.len() as u32,
            padding: (audio.len() * per_frame - 576 - samples) as u32,
            music_crc: crc16(0, &stream[frames[0].bytes.end..]),
            toc: seek.toc(),
        }
    }

    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let tone = (i as f32 * 0.03).sin() * 0.3;
                tone + ((x >> 9) as f32 / (1u32 << 23) as f32 - 0.5) * 0.2 * ((i / 5000) % 3) as f32
            })
            .collect()
    }

    #[test]
    fn the_facts_of_a_serial_stream_rebuild_lames_own_tag() {
        for (rate, channels, preset) in
            [(44100, 2, Preset::Vbr(2)), (44100, 2, Preset::Cbr(128)), (22050, 1, Preset::Vbr(4)), (8000, 1, Preset::Cbr(32))]
        {
            let samples = rate as usize * 7 + 123;
            let (left, right) = (noise(samples, 1), noise(samples, 2));
            let mut encoder = Mp3Encoder::new(rate, channels, preset, true).unwrap();
            let mut stream = encoder.encode(&left, &right).unwrap().to_vec();
            stream.extend_from_slice(encoder.flush().unwrap());
            let tag = encoder.lame_tag();
            assert_eq!(tag.len(), frame::parse(&stream).unwrap()[0].bytes.len());

            let mut rebuilt = stream[..tag.len()].to_vec();
            // The placeholder LAME wrote first, with the final tag's fixed fields.
            let x = 4 + frame::Header::parse(&tag).unwrap().side_info_len();
            rebuilt[..x + 8].copy_from_slice(&tag[..x + 8]);
            rebuilt[x + 116..x + 148].copy_from_slice(&tag[x + 116..x + 148]);
            rebuilt[x + 142] &= 0xF0;
            rebuilt[x + 143] = 0;
            assert!(patch(&mut rebuilt, &facts_of(&stream, samples)));
            assert_eq!(rebuilt, tag, "{rate} Hz, {channels} channels, {preset}");
        }
    }

    #[test]
    fn crc16_is_lames() {
        // CRC-16/ARC of "123456789".
        assert_eq!(crc16(0, b"123456789"), 0xBB3D);
    }

    #[test]
    fn the_seek_table_keeps_its_size_and_its_proportions() {
        let mut seek = SeekTable::default();
        for i in 0..100_000u32 {
            seek.add(if i < 50_000 { 64 } else { 192 });
        }
        assert!(seek.bag.len() < BAG);
        let toc = seek.toc();
        // A quarter of the bytes are in the first half of the time.
        assert_eq!(toc[50], 64);
        assert!(toc.windows(2).all(|w| w[0] <= w[1]));
    }
}
