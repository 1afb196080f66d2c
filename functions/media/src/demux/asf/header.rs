//! ASF's Header Object: the data packet size and duration (File Properties) and each audio
//! stream's number and WAVEFORMATEX (Stream Properties), read object by object; other objects
//! (metadata, cover art, the header extension) are skipped unread.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::errors::{Error, Result};
use symphonia::core::io::{MediaSourceStream, ReadBytes};

use crate::demux::bytes::{le16, le32};

/// GUIDs as stored (little-endian fields).
pub const HEADER: [u8; 16] = [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c];
const FILE_PROPERTIES: [u8; 16] = [0xa1, 0xdc, 0xab, 0x8c, 0x47, 0xa9, 0xcf, 0x11, 0x8e, 0xe4, 0x00, 0xc0, 0x0c, 0x20, 0x53, 0x65];
const STREAM_PROPERTIES: [u8; 16] = [0x91, 0x07, 0xdc, 0xb7, 0xb7, 0xa9, 0xcf, 0x11, 0x8e, 0xe6, 0x00, 0xc0, 0x0c, 0x20, 0x53, 0x65];
const AUDIO_MEDIA: [u8; 16] = [0x40, 0x9e, 0x69, 0xf8, 0x4d, 0x5b, 0xcf, 0x11, 0xa8, 0xfd, 0x00, 0x80, 0x5f, 0x5c, 0x44, 0x2b];
const DATA: [u8; 16] = [0x36, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c];

/// Header objects looked at (a real header has a dozen).
const MAX_OBJECTS: u32 = 1024;
/// File and stream properties are small; only their start is read.
const MAX_KEPT: u64 = 4096;
/// Data packets larger than this are refused (real ones are a few KiB).
pub const MAX_PACKET: u32 = 1 << 20;

pub struct AudioStream {
    pub number: u8,
    pub format: Vec<u8>,
}

pub struct Header {
    pub packet_size: u32,
    /// 100 ns units, preroll included.
    pub play_duration: u64,
    /// Milliseconds.
    pub preroll: u64,
    pub audio: Vec<AudioStream>,
    /// Bytes of data packets the Data Object declares (`None`: unknown, read to the end).
    pub data_len: Option<u64>,
}

/// Reads the Header Object and the Data Object's header; leaves the reader at the first packet.
pub fn read(r: &mut MediaSourceStream<'_>) -> Result<Header> {
    let (guid, size) = object_header(r)?;
    if guid != HEADER {
        return Err(Error::DecodeError("asf: no header object"));
    }
    let count = r.read_u32()?;
    r.ignore_bytes(2)?;
    let end = size.saturating_sub(30).saturating_add(r.pos());
    let mut header = Header { packet_size: 0, play_duration: 0, preroll: 0, audio: Vec::new(), data_len: None };
    for _ in 0..count.min(MAX_OBJECTS) {
        if r.pos().saturating_add(24) > end {
            break;
        }
        let (guid, size) = object_header(r)?;
        let body_end = r.pos().saturating_add(size.saturating_sub(24));
        if guid == FILE_PROPERTIES || guid == STREAM_PROPERTIES {
            let mut body = vec![0u8; size.saturating_sub(24).min(MAX_KEPT) as usize];
            r.read_buf_exact(&mut body)?;
            if guid == FILE_PROPERTIES {
                header.play_duration = le64(&body, 40).unwrap_or(0);
                header.preroll = le64(&body, 56).unwrap_or(0);
                let (min, max) = (le32(&body, 68).unwrap_or(0), le32(&body, 72).unwrap_or(0));
                header.packet_size = if min == max { min } else { 0 };
            } else if let Some(stream) = audio_stream(&body) {
                header.audio.push(stream);
            }
        }
        r.ignore_bytes(body_end.saturating_sub(r.pos()))?;
    }
    r.ignore_bytes(end.saturating_sub(r.pos()))?;
    if header.packet_size == 0 || header.packet_size > MAX_PACKET {
        return Err(Error::DecodeError("asf: no fixed data packet size"));
    }
    let (guid, size) = object_header(r)?;
    if guid != DATA {
        return Err(Error::DecodeError("asf: no data object after the header"));
    }
    // File ID (16), total data packets (8), reserved (2).
    r.ignore_bytes(26)?;
    header.data_len = Some(size.saturating_sub(50)).filter(|n| *n > 0);
    Ok(header)
}

/// From a Stream Properties body: stream type, error correction type, time offset (8),
/// type-specific length, error correction length, flags (stream number in the low 7 bits),
/// reserved (4), then the type-specific data (a WAVEFORMATEX for audio).
fn audio_stream(body: &[u8]) -> Option<AudioStream> {
    if body.get(0..16)? != AUDIO_MEDIA {
        return None;
    }
    let len = usize::try_from(le32(body, 40)?).ok()?;
    let number = u8::try_from(le16(body, 48)? & 0x7f).ok()?;
    let format = body.get(54..54usize.checked_add(len)?)?.to_vec();
    Some(AudioStream { number, format })
}

fn object_header(r: &mut MediaSourceStream<'_>) -> std::io::Result<([u8; 16], u64)> {
    let mut guid = [0u8; 16];
    r.read_buf_exact(&mut guid)?;
    Ok((guid, r.read_u64()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}
