//! Raw PCM sample formats and their conversion from interleaved bytes to planar f32, for the
//! containers we read PCM from ourselves (QuickTime).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    U8,
    I8,
    I16,
    I24,
    I32,
    F32,
    F64,
}

impl SampleKind {
    pub fn width(self) -> usize {
        match self {
            SampleKind::U8 | SampleKind::I8 => 1,
            SampleKind::I16 => 2,
            SampleKind::I24 => 3,
            SampleKind::I32 | SampleKind::F32 => 4,
            SampleKind::F64 => 8,
        }
    }
}

/// Interleaved PCM to planar f32; returns the number of whole frames.
pub fn deinterleave(data: &[u8], kind: SampleKind, big_endian: bool, channels: usize, planes: &mut [Vec<f32>]) -> usize {
    let width = kind.width();
    let frames = data.len() / (width * channels);
    let mut le = [0u8; 8];
    for (c, plane) in planes.iter_mut().enumerate() {
        plane.clear();
        plane.extend((0..frames).map(|f| {
            let s = &data[(f * channels + c) * width..][..width];
            le[..width].copy_from_slice(s);
            if big_endian {
                le[..width].reverse();
            }
            match kind {
                SampleKind::U8 => (f32::from(le[0]) - 128.0) / 128.0,
                SampleKind::I8 => f32::from(le[0] as i8) / 128.0,
                SampleKind::I16 => f32::from(i16::from_le_bytes([le[0], le[1]])) / 32768.0,
                SampleKind::I24 => (i32::from_le_bytes([0, le[0], le[1], le[2]]) >> 8) as f32 / 8_388_608.0,
                SampleKind::I32 => i32::from_le_bytes([le[0], le[1], le[2], le[3]]) as f32 / 2_147_483_648.0,
                SampleKind::F32 => f32::from_le_bytes([le[0], le[1], le[2], le[3]]),
                SampleKind::F64 => f64::from_le_bytes(le) as f32,
            }
        }));
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deinterleaves_16_and_24_bit() {
        let mut planes = vec![Vec::new(), Vec::new()];
        let data = [0x00, 0x40, 0x00, 0xc0, 0xff, 0x7f, 0x00, 0x80];
        assert_eq!(deinterleave(&data, SampleKind::I16, false, 2, &mut planes), 2);
        assert_eq!(planes[0], vec![0.5, 32767.0 / 32768.0]);
        assert_eq!(planes[1], vec![-0.5, -1.0]);
        let mut mono = vec![Vec::new()];
        assert_eq!(deinterleave(&[0x00, 0x00, 0xc0, 0x01], SampleKind::I24, false, 1, &mut mono), 1);
        assert_eq!(mono[0], vec![-0.5]);
    }

    #[test]
    fn big_endian_and_float() {
        let mut mono = vec![Vec::new()];
        deinterleave(&[0xc0, 0x00], SampleKind::I16, true, 1, &mut mono);
        assert_eq!(mono[0], vec![-0.5]);
        deinterleave(&0.25f32.to_be_bytes(), SampleKind::F32, true, 1, &mut mono);
        assert_eq!(mono[0], vec![0.25]);
    }
}
