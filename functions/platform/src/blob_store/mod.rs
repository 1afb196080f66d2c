//! The blob store port: videos and MP3s, streamed in and out, never whole in memory.
//!
//! Adapters: [`fs`] (a local directory, the embedded default) and [`gridfs`] (MongoDB GridFS).
//! Every adapter passes the same conformance suite (`tests/blob_store.rs`).

pub mod fs;
pub mod gridfs;

use std::ops::Range;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use media::{MediaSource, Mp3Sink};

/// A stream of bytes going into or out of the store.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// A stream of incoming bytes, possibly borrowing from the request.
pub type IncomingStream<'a> = BoxStream<'a, std::io::Result<Bytes>>;

/// The two collections of files (GridFS buckets in MongoDB, contract §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    Videos,
    Mp3s,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Videos => "videos",
            Self::Mp3s => "mp3s",
        }
    }
}

/// What the store keeps beside each file (GridFS `metadata`, contract §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    pub owner_id: String,
    pub content_type: String,
    pub filename: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// A stored file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub id: String,
    pub size: u64,
    pub meta: BlobMeta,
    /// Strong validator for HTTP caching: changes whenever the content may have changed.
    pub etag: String,
    /// When the file was stored (GridFS `uploadDate`).
    pub written_at: SystemTime,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such file")]
    NotFound,
    #[error("file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// Reading the incoming stream failed (the client went away, a malformed body).
    #[error("the incoming data stream failed")]
    Source(#[source] std::io::Error),
    /// The store itself failed; trying again later may work.
    #[error("blob store failure")]
    Io(#[from] std::io::Error),
}

/// A blob being written by blocking code (the converter). Nothing is visible under its id
/// until [`BlobSink::commit`]; dropping it uncommitted leaves nothing behind.
pub trait BlobSink: Mp3Sink {
    fn commit(self: Box<Self>) -> Result<BlobInfo, BlobError>;
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `data` under `id`, replacing any earlier file with that id once complete.
    ///
    /// Errors: [`BlobError::TooLarge`] as soon as more than `max_bytes` arrive,
    /// [`BlobError::Source`] if `data` fails; in both cases nothing is left behind.
    async fn put(&self, bucket: Bucket, id: &str, meta: BlobMeta, data: IncomingStream<'_>, max_bytes: u64) -> Result<BlobInfo, BlobError>;

    /// Errors: [`BlobError::NotFound`].
    async fn stat(&self, bucket: Bucket, id: &str) -> Result<BlobInfo, BlobError>;

    /// Streams the bytes in `range` (clamped to the file's size) without reading what comes
    /// before it. Errors: [`BlobError::NotFound`].
    async fn read(&self, bucket: Bucket, id: &str, range: Range<u64>) -> Result<ByteStream, BlobError>;

    /// Errors: [`BlobError::NotFound`].
    async fn delete(&self, bucket: Bucket, id: &str) -> Result<(), BlobError>;

    /// The bytes the owner's files take, in both buckets (for the per-user quota); 0 for an
    /// owner with none. Errors: [`BlobError::Io`].
    async fn usage(&self, owner_id: &str) -> Result<u64, BlobError>;

    /// The files of `bucket` stored before `before`, oldest first: at most `limit`, after
    /// skipping the first `skip` (for the retention sweep, which deletes most of what it reads:
    /// it skips only those it keeps). Errors: [`BlobError::Io`].
    async fn written_before(&self, bucket: Bucket, before: SystemTime, skip: usize, limit: usize) -> Result<Vec<BlobInfo>, BlobError>;

    /// A seekable reader for blocking code (the demuxer). Errors: [`BlobError::NotFound`].
    fn open_sync(&self, bucket: Bucket, id: &str) -> Result<Box<dyn MediaSource>, BlobError>;

    /// A writer for blocking code that can overwrite its first bytes before it commits.
    fn create_sync(&self, bucket: Bucket, id: &str, meta: BlobMeta) -> Result<Box<dyn BlobSink>, BlobError>;
}
