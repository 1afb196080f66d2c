//! Names what a file looks like when no demuxer of ours or symphonia's reads it, so the error
//! tells the truth: a valid file of a kind we do not read is `unsupported_format` (named), and
//! only what looks like nothing known is `corrupt_input`.

/// Bytes to read from the start of a file for [`identify`].
pub const HEAD: usize = 400;

/// Magic numbers at offset 0 of formats we do not read.
const AT_START: &[(&[u8], &str)] = &[
    (b"nut/multimedia container\0", "NUT"),
    (b".RMF", "RealMedia"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "ASF (WMV/WMA)"),
    (b"FLV\x01", "FLV"),
    (b"#!AMR", "AMR"),
    (b"MAC ", "Monkey's Audio (APE)"),
    (b"wvpk", "WavPack"),
    (b"MPCK", "Musepack"),
    (b"MP+", "Musepack"),
    (b"TTA1", "TTA"),
    (b"OFR ", "OptimFROG"),
    (b"DSD ", "DSF (DSD audio)"),
    (b"FRM8", "DSDIFF (DSD audio)"),
    (b".snd", "Sun/NeXT AU"),
    (b"Creative Voice File\x1a", "Creative Voice (VOC)"),
    (b"ADIF", "AAC in ADIF"),
    (b"BIK", "Bink video"),
    (b"KB2", "Bink video"),
    (b"FWS", "Flash (SWF)"),
    (b"CWS", "Flash (SWF)"),
    (b"ZWS", "Flash (SWF)"),
    (b"DKIF", "IVF (video only)"),
    (b"YUV4MPEG2", "YUV4MPEG (video only)"),
    (b"MThd", "MIDI (notes, not sound)"),
    (b"\x00\x00\x01\xba", "MPEG program stream"),
    (b"\x00\x00\x01\xb3", "MPEG video elementary stream (no audio)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "an ELF executable"),
    (b"#EXTM3U", "an M3U playlist (a list of links, not media)"),
    (b"\xfe\x7f\x01\x80", "a little-endian DTS stream"),
    (b"\x1f\xff\xe8\x00", "a 14-bit DTS stream"),
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
pub fn identify(head: &[u8]) -> Option<&'static str> {
    if let Some((_, name)) = AT_START.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(name);
    }
    let form = (head.get(0..4)?, head.get(8..12)?);
    if let Some((_, _, name)) = FORMS.iter().find(|(outer, kind, _)| form == (&outer[..], &kind[..])) {
        return Some(name);
    }
    if mpeg_ts(head) {
        return Some("MPEG transport stream");
    }
    let text = head.trim_ascii_start();
    [&b"<?xml"[..], b"<!DOCTYPE", b"<html", b"<HTML", b"{"].iter().any(|t| text.starts_with(t)).then_some("a text document")
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
        assert_eq!(identify(b"nut/multimedia container\0\x00\x01"), Some("NUT"));
        assert_eq!(identify(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("a PNG image"));
        assert_eq!(identify(b"RIFF\x10\0\0\0WEBPVP8 "), Some("a WebP image"));
        assert_eq!(identify(b"  <!DOCTYPE html>"), Some("a text document"));
        assert_eq!(identify(b"\xfe\x7f\x01\x80\x00"), Some("a little-endian DTS stream"));
    }

    #[test]
    fn knows_nothing_of_random_bytes_or_formats_we_read() {
        assert_eq!(identify(b"\x13\x37\xc0\xde random"), None);
        assert_eq!(identify(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(identify(b"\x1aE\xdf\xa3\x01\0\0\0"), None);
        assert_eq!(identify(b""), None);
    }
}
