//! AVI's header list (`hdrl`): the stream headers (`strh`) and formats (`strf`) of its streams,
//! read front to back (the source need not be seekable), in a bounded number of small reads.

#![deny(clippy::arithmetic_side_effects)]

use std::io;

use symphonia::core::errors::{Error, Result};
use symphonia::core::io::{MediaSourceStream, ReadBytes};

/// A real header list holds a few stream lists of a few chunks each.
const MAX_HEADER_CHUNKS: u32 = 4096;
/// Only the start of `strh`/`strf` is kept (a WAVEFORMATEXTENSIBLE is 40 bytes, its extra data
/// a few more).
const MAX_KEPT: u32 = 4096;

/// One stream list (`strl`).
pub struct Stream {
    /// Position among the streams: chunk ids start with it in two digits (`01wb`).
    pub number: u32,
    /// `strh` (fccType at 0, dwScale at 20, dwRate at 24, dwLength at 32).
    pub strh: Vec<u8>,
    pub strf: Vec<u8>,
}

impl Stream {
    pub fn is_audio(&self) -> bool {
        self.strh.get(0..4) == Some(b"auds")
    }
}

/// Reads `LIST hdrl`, which must come first after the RIFF header. Leaves the reader after it.
pub fn read(r: &mut MediaSourceStream<'_>) -> Result<Vec<Stream>> {
    let (id, size) = chunk_header(r)?;
    if &id != b"LIST" || &r.read_quad_bytes()? != b"hdrl" {
        return Err(Error::DecodeError("avi: no header list"));
    }
    let end = padded_end(r.pos().saturating_sub(4), size);
    let mut streams = Vec::new();
    let mut chunks = 0u32;
    while r.pos().saturating_add(8) <= end {
        count(&mut chunks)?;
        let (id, size) = chunk_header(r)?;
        let chunk_end = padded_end(r.pos(), size);
        if &id == b"LIST" && size >= 4 && &r.read_quad_bytes()? == b"strl" {
            let mut stream = Stream { number: u32::try_from(streams.len()).unwrap_or(u32::MAX), strh: Vec::new(), strf: Vec::new() };
            while r.pos().saturating_add(8) <= chunk_end {
                count(&mut chunks)?;
                let (cid, csize) = chunk_header(r)?;
                let cend = padded_end(r.pos(), csize);
                match &cid {
                    b"strh" => stream.strh = keep(r, csize)?,
                    b"strf" => stream.strf = keep(r, csize)?,
                    _ => {}
                }
                skip_to(r, cend)?;
            }
            streams.push(stream);
        }
        skip_to(r, chunk_end)?;
    }
    skip_to(r, end)?;
    Ok(streams)
}

fn count(chunks: &mut u32) -> Result<()> {
    *chunks = chunks.saturating_add(1);
    if *chunks > MAX_HEADER_CHUNKS { Err(Error::DecodeError("avi: header list with too many chunks")) } else { Ok(()) }
}

pub fn chunk_header(r: &mut MediaSourceStream<'_>) -> io::Result<([u8; 4], u32)> {
    let id = r.read_quad_bytes()?;
    Ok((id, r.read_u32()?))
}

/// Where a chunk whose payload starts at `start` ends, padding byte included.
pub fn padded_end(start: u64, size: u32) -> u64 {
    start.saturating_add(u64::from(size)).saturating_add(u64::from(size & 1))
}

/// The first bytes of a chunk's payload (the reader stays inside the chunk).
fn keep(r: &mut MediaSourceStream<'_>, size: u32) -> io::Result<Vec<u8>> {
    let mut data = vec![0u8; size.min(MAX_KEPT) as usize];
    r.read_buf_exact(&mut data)?;
    Ok(data)
}

/// Moves forward to `pos` (never back: a chunk claiming less than its children is not
/// re-read).
fn skip_to(r: &mut MediaSourceStream<'_>, pos: u64) -> io::Result<()> {
    r.ignore_bytes(pos.saturating_sub(r.pos()))
}
