//! A big-endian bit reader over a byte slice, for the codec headers and LATM's bit-packed
//! configuration: `None` past the end, never a panic.

#![deny(clippy::arithmetic_side_effects)]

pub struct Bits<'a> {
    data: &'a [u8],
    /// In bits from the start of `data`.
    pos: usize,
}

impl<'a> Bits<'a> {
    pub fn new(data: &'a [u8]) -> Bits<'a> {
        Bits { data, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The next `n` bits (at most 32) as an integer.
    pub fn read(&mut self, n: u32) -> Option<u32> {
        if n > 32 {
            return None;
        }
        let mut v: u64 = 0;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            let bit = (byte >> 7u32.saturating_sub((self.pos % 8) as u32)) & 1;
            v = (v << 1) | u64::from(bit);
            self.pos = self.pos.checked_add(1)?;
        }
        u32::try_from(v).ok()
    }

    pub fn flag(&mut self) -> Option<bool> {
        self.read(1).map(|b| b == 1)
    }

    pub fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        if end > self.data.len().checked_mul(8)? {
            return None;
        }
        self.pos = end;
        Some(())
    }

    /// `bits` bits from `from` (a bit position), copied into bytes, the last one zero-padded.
    pub fn copy(&self, from: usize, bits: usize) -> Option<Vec<u8>> {
        // Before allocating by a length the input gave.
        if from.checked_add(bits)? > self.data.len().checked_mul(8)? {
            return None;
        }
        let mut r = Bits { data: self.data, pos: from };
        let mut out = Vec::with_capacity(bits.div_ceil(8));
        let mut left = bits;
        while left > 0 {
            let n = left.min(8);
            let v = r.read(n as u32)?;
            out.push((v << 8u32.saturating_sub(n as u32)) as u8);
            left = left.saturating_sub(n);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_byte_boundaries_and_stops_at_the_end() {
        let mut b = Bits::new(&[0b1010_1100, 0b0101_0011]);
        assert_eq!(b.read(3), Some(0b101));
        assert_eq!(b.read(7), Some(0b011_0001));
        assert_eq!(b.pos(), 10);
        assert_eq!(b.read(6), Some(0b01_0011));
        assert_eq!(b.read(1), None);
        assert_eq!(Bits::new(&[0xff]).read(33), None);
    }

    #[test]
    fn copies_an_unaligned_run_of_bits() {
        let b = Bits::new(&[0b0001_0010, 0b0011_0100, 0b0101_0110]);
        assert_eq!(b.copy(4, 12), Some(vec![0b0010_0011, 0b0100_0000]));
        assert_eq!(b.copy(20, 8), None);
    }
}
