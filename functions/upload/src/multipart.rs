//! Multipart bodies with the bounds multer lacks. multer buffers a part's headers (and the
//! preamble before the first boundary) until it finds their end, without limit: a part
//! header that never ends grew the server by the size of the body. [`open`] puts a scanner
//! in front of multer that follows the framing and refuses, as soon as a bound is crossed,
//! a part header over [`MAX_PART_HEADER_BYTES`], more than [`MAX_FIELDS`] parts, or a
//! preamble over [`MAX_PREAMBLE_BYTES`]; the route bounds non-file fields itself.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use futures_util::StreamExt;
use memchr::memmem;
use platform::http::AppError;

/// A part's headers (`Content-Disposition`, `Content-Type`) fit in far less.
pub const MAX_PART_HEADER_BYTES: usize = 8 * 1024;
/// Parts in one upload: the file and a few form fields.
pub const MAX_FIELDS: usize = 16;
/// The value of a part that is not the file.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// What may come before the first boundary.
pub const MAX_PREAMBLE_BYTES: usize = 8 * 1024;

/// Why the scanner stopped a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a part's headers are longer than {MAX_PART_HEADER_BYTES} bytes")]
    PartHeaderTooLarge,
    #[error("the body has more than {MAX_FIELDS} parts")]
    TooManyFields,
    #[error("no multipart boundary within the first {MAX_PREAMBLE_BYTES} bytes")]
    NoBoundary,
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        let code = match refusal {
            Refusal::PartHeaderTooLarge => "part_header_too_large",
            Refusal::TooManyFields => "too_many_fields",
            Refusal::NoBoundary => "invalid_multipart",
        };
        AppError::bad_request(code, refusal.to_string())
    }
}

/// Where the scanner leaves its refusal for the route, which otherwise sees only multer's
/// "stream read failed".
#[derive(Clone, Default)]
pub struct Verdict(Arc<Mutex<Option<Refusal>>>);

impl Verdict {
    pub fn get(&self) -> Option<Refusal> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, refusal: Refusal) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(refusal);
    }
}

/// The request's body as multipart, behind the scanner.
pub async fn open(request: Request) -> Result<(Multipart, Verdict), AppError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| AppError::bad_request("invalid_multipart", format!("the multipart content type is unusable: {e}")))?;
    let verdict = Verdict::default();
    let (parts, body) = request.into_parts();
    let (mut scanner, seen) = (Scanner::new(&boundary), verdict.clone());
    let guarded = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        if let Some(refusal) = seen.get() {
            return Err(std::io::Error::other(refusal));
        }
        scanner.feed(&chunk).inspect_err(|refusal| seen.set(*refusal)).map_err(std::io::Error::other)?;
        Ok(chunk)
    });
    let request = Request::from_parts(parts, Body::from_stream(guarded));
    let multipart = Multipart::from_request(request, &()).await.map_err(|e| AppError::bad_request("invalid_multipart", e.body_text()))?;
    Ok((multipart, verdict))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Zone {
    Preamble,
    /// After a delimiter, until the empty line (or `--`: the closing delimiter).
    Headers,
    Data,
    /// After the closing delimiter: multer reads no further.
    Epilogue,
}

/// Follows multipart framing across chunks, holding only a pattern's length of bytes.
struct Scanner {
    /// `\r\n--boundary`; the body is read as if `\r\n` came first, so that a first boundary
    /// at the very start matches too.
    delimiter: Vec<u8>,
    zone: Zone,
    /// The zone's last bytes, which may begin the pattern the next chunk completes.
    carry: Vec<u8>,
    /// Bytes in the current preamble or header zone.
    seen: usize,
    /// The first two bytes of a header zone (`--` ends the body).
    lead: Vec<u8>,
    parts: usize,
}

const HEADERS_END: &[u8] = b"\r\n\r\n";

impl Scanner {
    fn new(boundary: &str) -> Self {
        let delimiter = [b"\r\n--".as_slice(), boundary.as_bytes()].concat();
        Self { delimiter, zone: Zone::Preamble, carry: b"\r\n".to_vec(), seen: 0, lead: Vec::new(), parts: 0 }
    }

    fn feed(&mut self, mut chunk: &[u8]) -> Result<(), Refusal> {
        while !chunk.is_empty() {
            match self.zone {
                Zone::Epilogue => return Ok(()),
                Zone::Preamble | Zone::Data => match self.find(chunk, &self.delimiter) {
                    Some(end) => {
                        chunk = &chunk[end..];
                        self.enter(Zone::Headers);
                    }
                    None => {
                        self.grow(chunk, Refusal::NoBoundary)?;
                        return Ok(());
                    }
                },
                Zone::Headers => {
                    let wanted = 2usize.saturating_sub(self.lead.len()).min(chunk.len());
                    self.lead.extend_from_slice(&chunk[..wanted]);
                    if self.lead == b"--" {
                        self.enter(Zone::Epilogue);
                        return Ok(());
                    }
                    match self.find(chunk, HEADERS_END) {
                        Some(end) => {
                            if self.seen + end > MAX_PART_HEADER_BYTES {
                                return Err(Refusal::PartHeaderTooLarge);
                            }
                            self.parts += 1;
                            if self.parts > MAX_FIELDS {
                                return Err(Refusal::TooManyFields);
                            }
                            chunk = &chunk[end..];
                            self.enter(Zone::Data);
                        }
                        None => {
                            self.grow(chunk, Refusal::PartHeaderTooLarge)?;
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn enter(&mut self, zone: Zone) {
        self.zone = zone;
        self.carry.clear();
        self.lead.clear();
        self.seen = 0;
    }

    /// Counts a chunk without a pattern end against the zone's bound and keeps its tail.
    fn grow(&mut self, chunk: &[u8], refusal: Refusal) -> Result<(), Refusal> {
        let bound = match self.zone {
            Zone::Preamble => MAX_PREAMBLE_BYTES,
            Zone::Headers => MAX_PART_HEADER_BYTES,
            Zone::Data | Zone::Epilogue => usize::MAX,
        };
        self.seen = self.seen.saturating_add(chunk.len());
        if self.seen > bound {
            return Err(refusal);
        }
        let keep = self.delimiter.len() - 1;
        if chunk.len() >= keep {
            self.carry.clear();
            self.carry.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.carry.extend_from_slice(chunk);
            let excess = self.carry.len().saturating_sub(keep);
            self.carry.drain(..excess);
        }
        Ok(())
    }

    /// Where in `chunk` the first occurrence of `pattern` (possibly begun in `carry`) ends.
    fn find(&self, chunk: &[u8], pattern: &[u8]) -> Option<usize> {
        let head = chunk.len().min(pattern.len() - 1);
        let joint = [self.carry.as_slice(), &chunk[..head]].concat();
        if let Some(at) = memmem::find(&joint, pattern) {
            return Some((at + pattern.len()).saturating_sub(self.carry.len()));
        }
        memmem::find(chunk, pattern).map(|at| at + pattern.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"f.mp4\"\r\nContent-Type: video/mp4\r\n\r\n\
        \r\n--Xy not yet\r\n--XyZ--\r\nepilogue";

    fn scan_in_chunks(body: &[u8], size: usize) -> (Result<(), Refusal>, Scanner) {
        let mut scanner = Scanner::new("XyZ");
        let result = body.chunks(size).try_for_each(|chunk| scanner.feed(chunk));
        (result, scanner)
    }

    #[test]
    fn a_well_formed_body_passes_however_it_is_cut() {
        for size in [1, 2, 3, 5, 7, 64, BODY.len()] {
            let (result, scanner) = scan_in_chunks(BODY, size);
            assert_eq!(result, Ok(()), "chunks of {size}");
            assert_eq!((scanner.parts, scanner.zone), (2, Zone::Epilogue), "chunks of {size}");
        }
    }

    #[test]
    fn a_part_header_that_never_ends_is_refused_at_the_bound() {
        let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"".to_vec();
        body.extend(std::iter::repeat_n(b'a', 64 * 1024));
        for size in [1000, 4096, 64 * 1024] {
            let mut scanner = Scanner::new("XyZ");
            let mut fed = 0;
            let refused = body.chunks(size).find_map(|chunk| {
                fed += chunk.len();
                scanner.feed(chunk).err()
            });
            assert_eq!(refused, Some(Refusal::PartHeaderTooLarge));
            assert!(fed <= MAX_PART_HEADER_BYTES + size, "refused after {fed} bytes");
        }
    }

    #[test]
    fn more_parts_than_the_limit_are_refused() {
        let part = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n";
        let body: Vec<u8> = part.repeat(MAX_FIELDS + 1);
        let (result, _) = scan_in_chunks(&body, 10);
        assert_eq!(result, Err(Refusal::TooManyFields));
        let (result, _) = scan_in_chunks(&part.repeat(MAX_FIELDS), 10);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn a_body_without_a_boundary_is_refused_after_the_preamble_bound() {
        let (result, _) = scan_in_chunks(&vec![b'-'; MAX_PREAMBLE_BYTES + 1], 100);
        assert_eq!(result, Err(Refusal::NoBoundary));
    }
}
