//! Names what a file looks like when no demuxer of ours or symphonia's reads it, so the error
//! tells the truth: a valid file in a container we do not read is `unsupported_format` (named),
//! an elementary stream of a codec we do not decode is `unsupported_codec`, and only what
//! looks like nothing known is `corrupt_input`.

/// What the first bytes of a file say it is, when it is something we do not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unread {
    /// A container or a non-media file type, e.g. "NUT" or "a PNG image".
    Format(&'static str),
    /// A bare elementary stream of a codec we do not decode, e.g. "ac3".
    Codec(&'static str),
}

/// Bytes to read from the start of a file for [`identify`].
pub const HEAD: usize = 400;

/// Magic numbers at offset 0 of formats we do not read.
const AT_START: &[(&[u8], Unread)] = &[
    (b"nut/multimedia container\0", Unread::Format("NUT")),
    (b".RMF", Unread::Format("RealMedia")),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", Unread::Format("ASF (WMV/WMA)")),
    (b"FLV\x01", Unread::Format("FLV")),
    (b"#!AMR", Unread::Format("AMR")),
    (b"MAC ", Unread::Format("Monkey's Audio (APE)")),
    (b"wvpk", Unread::Format("WavPack")),
    (b"MPCK", Unread::Format("Musepack")),
    (b"MP+", Unread::Format("Musepack")),
    (b"TTA1", Unread::Format("TTA")),
    (b"OFR ", Unread::Format("OptimFROG")),
    (b"DSD ", Unread::Format("DSF (DSD audio)")),
    (b"FRM8", Unread::Format("DSDIFF (DSD audio)")),
    (b".snd", Unread::Format("Sun/NeXT AU")),
    (b"Creative Voice File\x1a", Unread::Format("Creative Voice (VOC)")),
    (b"ADIF", Unread::Format("AAC in ADIF")),
    (b"BIK", Unread::Format("Bink video")),
    (b"KB2", Unread::Format("Bink video")),
    (b"FWS", Unread::Format("Flash (SWF)")),
    (b"CWS", Unread::Format("Flash (SWF)")),
    (b"ZWS", Unread::Format("Flash (SWF)")),
    (b"DKIF", Unread::Format("IVF (video only)")),
    (b"YUV4MPEG2", Unread::Format("YUV4MPEG (video only)")),
    (b"MThd", Unread::Format("MIDI (notes, not sound)")),
    (b"\x00\x00\x01\xba", Unread::Format("MPEG program stream")),
    (b"\x00\x00\x01\xb3", Unread::Format("MPEG video elementary stream (no audio)")),
    (b"\x89PNG\r\n\x1a\n", Unread::Format("a PNG image")),
    (b"\xff\xd8\xff", Unread::Format("a JPEG image")),
    (b"GIF8", Unread::Format("a GIF image")),
    (b"%PDF", Unread::Format("a PDF document")),
    (b"PK\x03\x04", Unread::Format("a ZIP archive")),
    (b"\x1f\x8b", Unread::Format("a gzip archive")),
    (b"7z\xbc\xaf\x27\x1c", Unread::Format("a 7-Zip archive")),
    (b"Rar!\x1a\x07", Unread::Format("a RAR archive")),
    (b"\x7fELF", Unread::Format("an ELF executable")),
    (b"#EXTM3U", Unread::Format("an M3U playlist (a list of links, not media)")),
    (b"\x0b\x77", Unread::Codec("ac3")),
    (b"\x7f\xfe\x80\x01", Unread::Codec("dts")),
    (b"\xfe\x7f\x01\x80", Unread::Codec("dts")),
];

/// RIFF and IFF forms (the type at offset 8) we do not read.
const FORMS: &[(&[u8; 4], &[u8; 4], &str)] = &[
    (b"RIFF", b"CDXA", "Video CD (CDXA)"),
    (b"RIFF", b"RMID", "MIDI (notes, not sound)"),
    (b"RIFF", b"WEBP", "a WebP image"),
    (b"FORM", b"8SVX", "IFF 8SVX"),
];

/// What `head` (the first [`HEAD`] bytes or fewer) says the file is, if it is something known
/// that we do not read; `None` if it looks like nothing known.
pub fn identify(head: &[u8]) -> Option<Unread> {
    if let Some((_, unread)) = AT_START.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(unread.clone());
    }
    let form = (head.get(0..4)?, head.get(8..12)?);
    if let Some((_, _, name)) = FORMS.iter().find(|(outer, kind, _)| form == (&outer[..], &kind[..])) {
        return Some(Unread::Format(name));
    }
    if mpeg_ts(head) {
        return Some(Unread::Format("MPEG transport stream"));
    }
    let text = head.trim_ascii_start();
    [&b"<?xml"[..], b"<!DOCTYPE", b"<html", b"<HTML", b"{"].iter().any(|t| text.starts_with(t)).then_some(Unread::Format("a text document"))
}

/// TS packets are 188 bytes (192 with M2TS's timestamp prefix), each starting with 0x47.
fn mpeg_ts(head: &[u8]) -> bool {
    let sync = |i: usize| head.get(i) == Some(&0x47);
    (sync(0) && sync(188)) || (sync(4) && sync(196))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_containers_and_file_types_we_do_not_read() {
        assert_eq!(identify(b"nut/multimedia container\0\x00\x01"), Some(Unread::Format("NUT")));
        assert_eq!(identify(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(Unread::Format("a PNG image")));
        assert_eq!(identify(b"RIFF\x10\0\0\0WEBPVP8 "), Some(Unread::Format("a WebP image")));
        assert_eq!(identify(b"  <!DOCTYPE html>"), Some(Unread::Format("a text document")));
        assert_eq!(identify(b"\x0b\x77\x12\x34"), Some(Unread::Codec("ac3")));
    }

    #[test]
    fn knows_nothing_of_random_bytes_or_formats_we_read() {
        assert_eq!(identify(b"\x13\x37\xc0\xde random"), None);
        assert_eq!(identify(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(identify(b"\x1aE\xdf\xa3\x01\0\0\0"), None);
        assert_eq!(identify(b""), None);
    }
}
