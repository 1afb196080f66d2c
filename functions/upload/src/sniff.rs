//! An early look at the first bytes of an upload: reject what is clearly not audio or video.
//!
//! Unknown binary data is let through (the converter gives a precise error later); known
//! non-media formats (images, documents, archives, executables) and text are refused.

/// How many leading bytes the check wants (fewer if the file is shorter).
pub const SNIFF_LEN: usize = 512;

/// `Err(reason)` when `head` is clearly not audio or video.
pub fn check(head: &[u8]) -> Result<(), String> {
    if head.is_empty() {
        return Err("the file is empty".to_owned());
    }
    if let Some(kind) = infer::get(head) {
        return match kind.matcher_type() {
            infer::MatcherType::Audio | infer::MatcherType::Video => Ok(()),
            _ => Err(format!("the file is {} ({}), not audio or video", kind.extension(), kind.mime_type())),
        };
    }
    if looks_like_text(head) {
        return Err("the file is text, not audio or video".to_owned());
    }
    Ok(())
}

fn looks_like_text(head: &[u8]) -> bool {
    // A cut multi-byte character at the end of the sample is still text.
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
        Err(_) => return false,
    };
    !valid.is_empty() && valid.chars().all(|c| !c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_signatures_pass() {
        let mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41";
        assert!(check(mp4).is_ok());
        assert!(check(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01").is_ok());
        assert!(check(b"RIFF\x24\x00\x00\x00WAVEfmt ").is_ok());
        assert!(check(b"OggS\x00\x02\x00\x00\x00\x00").is_ok());
    }

    #[test]
    fn unknown_binary_passes() {
        assert!(check(&[0x47, 0x40, 0x11, 0x10, 0x00, 0x42, 0xf0, 0x25, 0x00, 0x01]).is_ok());
    }

    #[test]
    fn text_images_and_documents_are_refused() {
        assert!(check(b"hello, this is not a video\n").is_err());
        assert!(check(b"{\"json\": true}").is_err());
        assert!(check(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").is_err());
        assert!(check(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").is_err());
        assert!(check(b"").is_err());
    }
}
