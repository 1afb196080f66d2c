//! A bounded read-ahead window over the source, for demuxers that look ahead to find sync
//! (TS packets) or read whole length-prefixed units (PS packets of up to 64 KiB).

#![deny(clippy::arithmetic_side_effects)]

use std::io::{self, ErrorKind, Read, Seek, SeekFrom};

use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes, SeekBuffered};

/// The most bytes held: a PS packet (6 + 65,535 bytes) and a read block fit.
pub const CAPACITY: usize = 128 * 1024;
const READ_BLOCK: usize = 32 * 1024;

pub struct Window<'s> {
    src: MediaSourceStream<'s>,
    buf: Vec<u8>,
    /// Where the unread bytes start in `buf`.
    start: usize,
    eof: bool,
}

impl<'s> Window<'s> {
    pub fn new(src: MediaSourceStream<'s>) -> Window<'s> {
        Window { src, buf: Vec::with_capacity(CAPACITY), start: 0, eof: false }
    }

    /// The bytes read ahead and not consumed.
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }

    /// Reads until at least `want` bytes (at most [`CAPACITY`]) are at hand or the source ends.
    pub fn fill(&mut self, want: usize) -> io::Result<()> {
        let want = want.min(CAPACITY);
        while self.data().len() < want && !self.eof {
            if self.start > 0 && self.buf.len().saturating_add(READ_BLOCK) > CAPACITY {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let have = self.buf.len();
            self.buf.resize(have.saturating_add(READ_BLOCK), 0);
            let read = loop {
                match self.src.read(&mut self.buf[have..]) {
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let n = match read {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(have);
                    return Err(e);
                }
            };
            self.buf.truncate(have.saturating_add(n));
            self.eof = n == 0;
        }
        Ok(())
    }

    /// Whether the source has ended (what is at hand is all there is).
    pub fn ended(&self) -> bool {
        self.eof
    }

    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.buf.len());
    }

    /// The position in the source of the first byte at hand.
    pub fn pos(&self) -> u64 {
        self.src.pos().saturating_sub(self.data().len() as u64)
    }

    /// Goes back (or forward) to `pos`: within what the source stream still buffers, or by a
    /// seek when the source can.
    pub fn rewind(&mut self, pos: u64) -> io::Result<()> {
        self.buf.clear();
        self.start = 0;
        self.eof = false;
        if self.src.seek_buffered(pos) == pos {
            return Ok(());
        }
        if !self.src.is_seekable() {
            return Err(io::Error::new(ErrorKind::Unsupported, "cannot go back in an unseekable source"));
        }
        self.src.seek(SeekFrom::Start(pos)).map(|_| ())
    }

    /// The source's length, when it is known and seekable.
    pub fn seekable_len(&self) -> Option<u64> {
        if self.src.is_seekable() { self.src.byte_len() } else { None }
    }

    /// Makes sure that `len` bytes read can still be gone back over without a seek.
    pub fn keep_for_rewind(&mut self, len: usize) {
        self.src.ensure_seekback_buffer(len);
    }

    pub fn into_inner(self) -> MediaSourceStream<'s> {
        self.src
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(data: Vec<u8>) -> Window<'static> {
        Window::new(MediaSourceStream::new(Box::new(io::Cursor::new(data)), Default::default()))
    }

    #[test]
    fn fills_consumes_and_rewinds() {
        let mut w = window((0..=255u8).cycle().take(200_000).collect());
        w.fill(10).unwrap();
        assert!(w.data().len() >= 10);
        w.consume(5);
        assert_eq!((w.pos(), w.data()[0]), (5, 5));
        w.fill(CAPACITY + 10).unwrap();
        assert!(w.data().len() >= CAPACITY);
        w.rewind(3).unwrap();
        w.fill(1).unwrap();
        assert_eq!((w.pos(), w.data()[0]), (3, 3));
    }

    #[test]
    fn stops_at_the_end() {
        let mut w = window(vec![7; 10]);
        w.fill(100).unwrap();
        assert_eq!(w.data().len(), 10);
        assert!(w.ended());
        w.consume(20);
        assert!(w.data().is_empty());
    }
}
