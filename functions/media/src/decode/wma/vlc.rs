//! WMA's prefix codes, from the (length, code word) tables that `oxideav-wma` publishes: a
//! binary tree walked a bit at a time (at WMA's bit rates that costs nothing worth a lookup
//! table).

use std::sync::LazyLock;

use oxideav_wma::wire_codes as codes;

use crate::demux::frames::bits::Bits;

/// A node's child: `EMPTY`, another node's index, or `LEAF | symbol`.
const LEAF: u32 = 1 << 31;
const EMPTY: u32 = 0;

pub struct Vlc {
    nodes: Vec<[u32; 2]>,
}

impl Vlc {
    /// Symbol `i` is `codes[i]`: (length in bits, code word read most significant bit first).
    fn new(codes: &[(u8, u32)]) -> Vlc {
        let mut nodes = vec![[EMPTY; 2]];
        for (symbol, &(len, word)) in codes.iter().enumerate() {
            let mut node = 0;
            for i in (0..u32::from(len)).rev() {
                let bit = ((word >> i) & 1) as usize;
                if i == 0 {
                    nodes[node][bit] = LEAF | symbol as u32;
                } else {
                    if nodes[node][bit] == EMPTY {
                        nodes.push([EMPTY; 2]);
                        nodes[node][bit] = (nodes.len() - 1) as u32;
                    }
                    node = nodes[node][bit] as usize;
                }
            }
        }
        Vlc { nodes }
    }

    /// The next symbol; `None` at the end of the data or on a code word the table lacks.
    pub fn read(&self, bits: &mut Bits) -> Option<usize> {
        let mut node = 0;
        loop {
            let next = self.nodes.get(node)?[bits.read(1)? as usize];
            match next {
                EMPTY => return None,
                n if n & LEAF != 0 => return Some((n & !LEAF) as usize),
                n => node = n as usize,
            }
        }
    }
}

/// A coefficient table: its code and, for symbols from 2 on, (run, level). Symbol 0 is the
/// escape, 1 the end of the block.
pub struct CoefTable {
    pub vlc: Vlc,
    pub run_level: &'static [(u16, u16)],
}

/// The scale factors' code (AAC's): symbol − 60 is the step from the last exponent.
pub static SCALE: LazyLock<Vlc> = LazyLock::new(|| Vlc::new(&codes::SCALE_CODES));

/// The noise bands' gain code: symbol − 18 is the step from the last gain.
pub static GAIN: LazyLock<Vlc> = LazyLock::new(|| Vlc::new(&codes::GAIN_CODES));

/// The three pairs of coefficient tables (the first for a channel, the second for the side
/// channel of mid/side stereo); a stream uses one pair, chosen by its rate and bits per sample.
pub static COEFS: LazyLock<[[CoefTable; 2]; 3]> = LazyLock::new(|| {
    let table = |codes: &[(u8, u32)], run_level: &'static [(u16, u16)]| CoefTable { vlc: Vlc::new(codes), run_level };
    [
        [table(&codes::COEF_CODES_CLASS1, &codes::RUNLEVEL_CLASS1), table(&codes::COEF_CODES_CLASS1_ALT, &codes::RUNLEVEL_CLASS1_ALT)],
        [table(&codes::COEF_CODES_CLASS2, &codes::RUNLEVEL_CLASS2), table(&codes::COEF_CODES_CLASS2_ALT, &codes::RUNLEVEL_CLASS2_ALT)],
        [table(&codes::COEF_CODES_CLASS3, &codes::RUNLEVEL_CLASS3), table(&codes::COEF_CODES_CLASS3_ALT, &codes::RUNLEVEL_CLASS3_ALT)],
    ]
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_symbols_of_a_prefix_code_and_stops_at_a_missing_word() {
        // 0 → a, 10 → b, 110 → c; 111 is no word.
        let vlc = Vlc::new(&[(1, 0b0), (2, 0b10), (3, 0b110)]);
        let mut bits = Bits::new(&[0b0101_1010]);
        let read: Vec<_> = (0..4).map(|_| vlc.read(&mut bits)).collect();
        assert_eq!(read, [Some(0), Some(1), Some(2), Some(1)]);
        assert_eq!(Vlc::new(&[(1, 0b0), (2, 0b10)]).read(&mut Bits::new(&[0b1100_0000])), None);
    }

    #[test]
    fn the_tables_are_complete_prefix_codes() {
        // Every table's code words fill the code space exactly (Kraft's sum is 1).
        let kraft = |codes: &[(u8, u32)]| codes.iter().map(|&(len, _)| 0.5f64.powi(i32::from(len))).sum::<f64>();
        for codes in [&codes::SCALE_CODES[..], &codes::GAIN_CODES, &codes::COEF_CODES_CLASS1, &codes::COEF_CODES_CLASS3_ALT] {
            assert!((kraft(codes) - 1.0).abs() < 1e-9, "{}", kraft(codes));
        }
        assert_eq!(codes::COEF_CODES_CLASS2.len(), codes::RUNLEVEL_CLASS2.len() + 2);
    }
}
