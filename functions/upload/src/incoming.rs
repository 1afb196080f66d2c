//! Turning a request body into one file stream: multipart (the first file part) or a raw
//! body, checked by [`sniff`](crate::sniff) before anything is stored.

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use platform::blob_store::{BlobError, IncomingStream};
use platform::http::AppError;

use crate::sniff;

/// Reads up to [`sniff::SNIFF_LEN`] leading bytes, refuses non-media with 415, and returns
/// a stream that yields the whole file again.
pub async fn sniffed(mut body: IncomingStream<'_>) -> Result<IncomingStream<'_>, AppError> {
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_len = 0;
    while head_len < sniff::SNIFF_LEN {
        match body.next().await {
            Some(Ok(chunk)) => {
                head_len += chunk.len();
                head.push(chunk);
            }
            Some(Err(e)) => return Err(AppError::bad_request("invalid_body", format!("reading the upload failed: {e}"))),
            None => break,
        }
    }
    let joined: Vec<u8> = head.iter().flat_map(|c| c.iter().copied()).take(sniff::SNIFF_LEN).collect();
    sniff::check(&joined).map_err(|reason| AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", reason))?;
    Ok(stream::iter(head.into_iter().map(Ok)).chain(body).boxed())
}

/// A multipart file field as a byte stream.
pub fn field_stream<'a>(field: Field<'a>) -> IncomingStream<'a> {
    field.map_err(std::io::Error::other).boxed()
}

pub fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.body_text());
    }
    AppError::bad_request("invalid_multipart", format!("the multipart body is malformed: {}", e.body_text()))
}

/// The HTTP answer for a failed store of an upload.
pub fn store_error(e: BlobError) -> AppError {
    match e {
        BlobError::TooLarge { limit } => {
            AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("the file is larger than the limit of {limit} bytes"))
        }
        BlobError::Source(e) => AppError::bad_request("invalid_body", format!("reading the upload failed: {e}")),
        BlobError::NotFound | BlobError::Io(_) => AppError::unavailable(e),
    }
}

/// A file name safe to keep and show: the last path component, no control characters.
pub fn clean_filename(raw: Option<&str>) -> String {
    let base = raw.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." { "upload".to_owned() } else { cleaned.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_directories_and_control_characters() {
        assert_eq!(clean_filename(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_filename(Some("C:\\videos\\clip.mp4")), "clip.mp4");
        assert_eq!(clean_filename(Some("a\nb.mp4")), "ab.mp4");
        assert_eq!(clean_filename(None), "upload");
        assert_eq!(clean_filename(Some("..")), "upload");
    }
}
