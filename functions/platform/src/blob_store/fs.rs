//! Blob store in a local directory: `<root>/<bucket>/<id>` with a `<id>.json` sidecar.
//!
//! Files are written under `<root>/tmp/` and renamed into place, data first and sidecar
//! last, so a file is visible exactly when its sidecar exists and a crash leaves only
//! `tmp/` litter, which [`FsBlobStore::open`] clears.
//!
//! Each owner's usage (bytes, both buckets) is counted once from the sidecars, on the first
//! [`BlobStore::usage`], and kept up to date by every write and delete from then on. That
//! holds because one process owns a data directory (`open` clears `tmp/` under anyone else).

use std::collections::HashMap;
use std::fs::File;
use std::io::{SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use super::{BlobError, BlobInfo, BlobMeta, BlobSink, BlobStore, Bucket, ByteStream, IncomingStream, MediaSource, Mp3Sink};

pub struct FsBlobStore {
    root: PathBuf,
    usage: Usage,
}

/// Bytes per owner; `None` until first asked for. Locked while a sidecar changes, so a
/// change and its count happen together.
type Usage = Arc<Mutex<Option<HashMap<String, u64>>>>;

fn lock(usage: &Usage) -> MutexGuard<'_, Option<HashMap<String, u64>>> {
    usage.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    size: u64,
    written_ns: u128,
    meta: BlobMeta,
}

impl FsBlobStore {
    /// Opens (creating if needed) the store at `root` and clears unfinished writes.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        let tmp = root.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        for dir in [tmp, root.join(Bucket::Videos.as_str()), root.join(Bucket::Mp3s.as_str())] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self { root, usage: Usage::default() })
    }

    /// Every owner's bytes, from the sidecars of both buckets.
    fn count_usage(&self) -> std::io::Result<HashMap<String, u64>> {
        let mut usage = HashMap::new();
        for bucket in [Bucket::Videos, Bucket::Mp3s] {
            for entry in std::fs::read_dir(self.root.join(bucket.as_str()))? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "json")
                    && let Some(sidecar) = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Sidecar>(&b).ok())
                {
                    *usage.entry(sidecar.meta.owner_id).or_default() += sidecar.size;
                }
            }
        }
        Ok(usage)
    }

    fn publisher(&self) -> Publisher {
        Publisher { root: self.root.clone(), usage: self.usage.clone() }
    }

    fn data_path(&self, bucket: Bucket, id: &str) -> Result<PathBuf, BlobError> {
        if !crate::is_valid_id(id) {
            return Err(BlobError::NotFound);
        }
        Ok(self.root.join(bucket.as_str()).join(id))
    }
}

fn temp_path(root: &Path) -> PathBuf {
    root.join("tmp").join(crate::new_id())
}

fn sidecar_path(data: &Path) -> PathBuf {
    data.with_extension("json")
}

fn read_sidecar(data: &Path, id: &str) -> Result<BlobInfo, BlobError> {
    let bytes = match std::fs::read(sidecar_path(data)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let sidecar: Sidecar = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
    Ok(info(id, sidecar))
}

/// Puts finished files in place: the store's root and its usage counts.
#[derive(Clone)]
struct Publisher {
    root: PathBuf,
    usage: Usage,
}

impl Publisher {
    /// Moves a finished temp file into place and writes its sidecar, counting the change.
    fn publish(&self, temp: &Path, data: &Path, id: &str, size: u64, meta: BlobMeta) -> Result<BlobInfo, BlobError> {
        std::fs::rename(temp, data)?;
        let sidecar = Sidecar { size, written_ns: now_ns(), meta };
        let sidecar_temp = temp_path(&self.root);
        std::fs::write(&sidecar_temp, serde_json::to_vec(&sidecar).map_err(std::io::Error::other)?)?;
        let mut usage = lock(&self.usage);
        let replaced = usage.as_ref().and_then(|_| read_sidecar(data, id).ok());
        std::fs::rename(&sidecar_temp, sidecar_path(data))?;
        if let Some(usage) = usage.as_mut() {
            if let Some(old) = replaced {
                uncount(usage, &old.meta.owner_id, old.size);
            }
            *usage.entry(sidecar.meta.owner_id.clone()).or_default() += size;
        }
        Ok(info(id, sidecar))
    }
}

fn uncount(usage: &mut HashMap<String, u64>, owner_id: &str, size: u64) {
    if let Some(bytes) = usage.get_mut(owner_id) {
        *bytes = bytes.saturating_sub(size);
        if *bytes == 0 {
            usage.remove(owner_id);
        }
    }
}

fn info(id: &str, sidecar: Sidecar) -> BlobInfo {
    let nanos = u64::try_from(sidecar.written_ns).unwrap_or(u64::MAX);
    BlobInfo {
        id: id.to_owned(),
        size: sidecar.size,
        etag: format!("\"{:x}-{:x}\"", sidecar.size, sidecar.written_ns),
        meta: sidecar.meta,
        written_at: SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(nanos),
    }
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
}

/// Deletes the temp file if the write did not finish.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(
        &self,
        bucket: Bucket,
        id: &str,
        meta: BlobMeta,
        mut data: IncomingStream<'_>,
        max_bytes: u64,
    ) -> Result<BlobInfo, BlobError> {
        let target = self.data_path(bucket, id)?;
        let mut guard = TempGuard(Some(temp_path(&self.root)));
        let temp = guard.0.clone().unwrap_or_default();
        let mut file = tokio::fs::File::create(&temp).await?;
        let mut size = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = chunk.map_err(BlobError::Source)?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(BlobError::TooLarge { limit: max_bytes });
            }
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let info = self.publisher().publish(&temp, &target, id, size, meta)?;
        guard.0 = None;
        Ok(info)
    }

    async fn stat(&self, bucket: Bucket, id: &str) -> Result<BlobInfo, BlobError> {
        let data = self.data_path(bucket, id)?;
        read_sidecar(&data, id)
    }

    async fn read(&self, bucket: Bucket, id: &str, range: Range<u64>) -> Result<ByteStream, BlobError> {
        let data = self.data_path(bucket, id)?;
        let info = read_sidecar(&data, id)?;
        let end = range.end.min(info.size);
        let start = range.start.min(end);
        let mut file = match tokio::fs::File::open(&data).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound),
            Err(e) => return Err(e.into()),
        };
        file.seek(SeekFrom::Start(start)).await?;
        Ok(ReaderStream::with_capacity(file.take(end - start), 64 * 1024).boxed())
    }

    async fn delete(&self, bucket: Bucket, id: &str) -> Result<(), BlobError> {
        let data = self.data_path(bucket, id)?;
        {
            let mut usage = lock(&self.usage);
            let deleted = read_sidecar(&data, id)?;
            match std::fs::remove_file(sidecar_path(&data)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound),
                Err(e) => return Err(e.into()),
            }
            if let Some(usage) = usage.as_mut() {
                uncount(usage, &deleted.meta.owner_id, deleted.size);
            }
        }
        match std::fs::remove_file(&data) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn usage(&self, owner_id: &str) -> Result<u64, BlobError> {
        let mut usage = lock(&self.usage);
        if usage.is_none() {
            *usage = Some(self.count_usage()?);
        }
        Ok(usage.as_ref().and_then(|u| u.get(owner_id)).copied().unwrap_or(0))
    }

    async fn written_before(&self, bucket: Bucket, before: SystemTime, skip: usize, limit: usize) -> Result<Vec<BlobInfo>, BlobError> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(self.root.join(bucket.as_str()))? {
            let path = entry?.path();
            let Some(id) = path.file_stem().and_then(|s| s.to_str()) else { continue };
            if path.extension().is_none_or(|e| e != "json") || !crate::is_valid_id(id) {
                continue;
            }
            // A sidecar deleted since the listing is a file gone: not an error.
            match read_sidecar(&path.with_extension(""), id) {
                Ok(info) if info.written_at < before => found.push(info),
                Ok(_) | Err(BlobError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        found.sort_by(|a, b| (a.written_at, &a.id).cmp(&(b.written_at, &b.id)));
        Ok(found.into_iter().skip(skip).take(limit).collect())
    }

    fn open_sync(&self, bucket: Bucket, id: &str) -> Result<Box<dyn MediaSource>, BlobError> {
        let data = self.data_path(bucket, id)?;
        read_sidecar(&data, id)?;
        match File::open(&data) {
            Ok(file) => Ok(Box::new(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    fn create_sync(&self, bucket: Bucket, id: &str, meta: BlobMeta) -> Result<Box<dyn BlobSink>, BlobError> {
        let target = self.data_path(bucket, id)?;
        let temp = temp_path(&self.root);
        let file = File::create(&temp)?;
        Ok(Box::new(FsSink { publisher: self.publisher(), file, guard: TempGuard(Some(temp)), target, id: id.to_owned(), meta }))
    }
}

struct FsSink {
    publisher: Publisher,
    file: File,
    guard: TempGuard,
    target: PathBuf,
    id: String,
    meta: BlobMeta,
}

impl Write for FsSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Mp3Sink for FsSink {
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.file.overwrite(offset, bytes)
    }
}

impl BlobSink for FsSink {
    fn commit(mut self: Box<Self>) -> Result<BlobInfo, BlobError> {
        self.file.flush()?;
        self.file.sync_all()?;
        let size = self.file.metadata()?.len();
        let temp = self.guard.0.take().unwrap_or_default();
        let result = self.publisher.publish(&temp, &self.target, &self.id, size, self.meta.clone());
        if result.is_err() {
            self.guard.0 = Some(temp);
        }
        result
    }
}
