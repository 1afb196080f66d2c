//! Blob store in MongoDB GridFS: buckets `videos` and `mp3s` (contract §5), in the standard
//! `<bucket>.files` / `<bucket>.chunks` layout so any driver's GridFS reads the files.
//!
//! Both writers (`put` and the blocking sink) insert the files document last, so nothing is
//! visible while they run. A new id (the usual case: an upload's id is fresh) gets its
//! chunks under its own id as `files_id` straight away, after deleting any chunks an attempt
//! cut short left under it. When a file with the id exists (a re-run of the converter
//! replacing its earlier attempt), the chunks go under a fresh `ObjectId` instead; the commit
//! then deletes the earlier file and everything under the id, and re-points the new chunks
//! at the id (one rewrite per chunk, which a MongoDB-compatible server without partial
//! updates pays in full): the earlier file stays readable until the new one is complete.
//! Two writers of the same id at once are not supported (a job's lease prevents that). An
//! aborted or dropped writer deletes its chunks; a process killed mid-write leaves chunks
//! with no files document, which `sweep_orphans` deletes once old (the functions run it at
//! start-up), as do the next writer and `delete` of the id.
//!
//! Our own files are found by `_id` alone, never by a query on `files_id`/`n`: each chunk's
//! `_id` is an `ObjectId` made of the file's 8-byte random key and `n` (big-endian), and the
//! files document names the key (`chunkKey`, 16 hex digits). A
//! MongoDB-compatible server without secondary indexes (FerretDB's SQLite backend pushes
//! down only `_id` equality) then reads, re-points and deletes a file in time that does not
//! grow with everything stored. Every chunk still has its standard `files_id` and `n`, so
//! other drivers read our files; files they wrote (no `chunkKey`) are read by `files_id`.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::time::SystemTime;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc, oid::ObjectId};
use mongodb::gridfs::FilesCollectionDocument;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::Deserialize;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::{BlobError, BlobInfo, BlobMeta, BlobSink, BlobStore, Bucket, ByteStream, IncomingStream, MediaSource, Mp3Sink};

/// How many chunk inserts one writer keeps running at once.
const MAX_IN_FLIGHT: usize = 2;

/// The chunk size of the files we write: 1 MiB, four times GridFS's default (255 KiB), so a
/// file takes a quarter of the queries. Any `chunkSize` is valid GridFS; drivers read it.
pub const DEFAULT_CHUNK_SIZE: u32 = 1024 * 1024;

/// The files document field naming the key of a file's chunk ids.
const CHUNK_KEY: &str = "chunkKey";

/// The key of a file's chunk ids, fresh per write: the time in seconds (big-endian, as an
/// `ObjectId` starts, so the chunks' `_id`s tell when they were written) and 4 random bytes.
type ChunkKey = [u8; 8];

fn new_chunk_key() -> ChunkKey {
    let mut key = [0u8; 8];
    key[..4].copy_from_slice(&(DateTime::now().timestamp_millis() / 1000).to_be_bytes()[4..]);
    key[4..].copy_from_slice(&rand::random::<[u8; 4]>());
    key
}

/// The `_id` of chunk `n` of the file keyed `key`: an `ObjectId` (drivers' GridFS readers
/// expect one) of the key's 8 bytes and `n`'s 4.
fn chunk_id(key: &ChunkKey, n: u64) -> ObjectId {
    let mut bytes = [0u8; 12];
    bytes[..8].copy_from_slice(key);
    bytes[8..].copy_from_slice(&(n as u32).to_be_bytes());
    ObjectId::from_bytes(bytes)
}

fn key_to_hex(key: &ChunkKey) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_from_hex(hex: &str) -> Option<ChunkKey> {
    if hex.len() != 16 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; 8];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// A file as its files document describes it, with how to find its chunks.
struct StoredFile {
    doc: FilesCollectionDocument,
    /// Our files: the key of the chunk ids. `None`: another driver's file, chunks by `files_id`.
    chunk_key: Option<ChunkKey>,
}

impl StoredFile {
    fn chunk_size(&self) -> u64 {
        u64::from(self.doc.chunk_size_bytes.max(1))
    }

    fn chunk_count(&self) -> u64 {
        self.doc.length.div_ceil(self.chunk_size())
    }
}

pub struct GridFsBlobStore {
    db: Database,
    handle: Handle,
    chunk_size: u32,
}

#[derive(Deserialize)]
struct ChunkDoc {
    n: i64,
    data: Binary,
}

#[derive(Deserialize)]
struct StoredMeta {
    /// Absent in a file another system wrote without one: then it is nobody's (an empty id
    /// matches no user).
    #[serde(default)]
    owner_id: String,
    #[serde(default = "octet_stream")]
    content_type: String,
    #[serde(default)]
    video_id: Option<String>,
    #[serde(default)]
    job_id: Option<String>,
}

fn octet_stream() -> String {
    "application/octet-stream".to_owned()
}

fn io_err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> std::io::Error {
    std::io::Error::other(e)
}

fn db_err(e: mongodb::error::Error) -> BlobError {
    BlobError::Io(io_err(e))
}

impl GridFsBlobStore {
    /// Uses `db` (creating the buckets' standard indexes) with the default chunk size.
    /// Must be called inside a tokio runtime: the blocking reader and sink run on it.
    pub async fn open(db: Database) -> Result<Self, BlobError> {
        let store = Self { db, handle: Handle::current(), chunk_size: DEFAULT_CHUNK_SIZE };
        for bucket in [Bucket::Videos, Bucket::Mp3s] {
            let files = store.files(bucket);
            files.create_index(IndexModel::builder().keys(doc! { "filename": 1, "uploadDate": 1 }).build()).await.map_err(db_err)?;
            // For `written_before` (the retention sweep).
            files.create_index(IndexModel::builder().keys(doc! { "uploadDate": 1 }).build()).await.map_err(db_err)?;
            // For `usage`, asked on every upload.
            files.create_index(IndexModel::builder().keys(doc! { "metadata.owner_id": 1 }).build()).await.map_err(db_err)?;
            let unique = IndexOptions::builder().unique(true).build();
            let chunks = IndexModel::builder().keys(doc! { "files_id": 1, "n": 1 }).options(unique).build();
            store.chunks(bucket).create_index(chunks).await.map_err(db_err)?;
        }
        Ok(store)
    }

    /// Deletes the chunks that a writer killed mid-write left behind, with no files document
    /// and older than `older_than`: those under a temporary `ObjectId` (its time), and those
    /// under a string id (the time in their `_id`). Files other drivers wrote have their files
    /// document, so they stay. Returns how many chunks went.
    pub async fn sweep_orphans(&self, older_than: std::time::Duration) -> Result<u64, BlobError> {
        let cutoff = std::time::SystemTime::now().checked_sub(older_than).unwrap_or(std::time::UNIX_EPOCH);
        let seconds = cutoff.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as u32;
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        let before = ObjectId::from_bytes(bytes);
        let mut deleted = 0;
        for bucket in [Bucket::Videos, Bucket::Mp3s] {
            let chunks = self.chunks(bucket);
            for id in chunks.distinct("files_id", doc! {}).await.map_err(db_err)? {
                if self.files(bucket).count_documents(doc! { "_id": id.clone() }).await.map_err(db_err)? > 0 {
                    continue;
                }
                let old = match &id {
                    Bson::ObjectId(oid) => *oid < before,
                    Bson::String(_) => {
                        let first = chunks.find_one(doc! { "files_id": id.clone() }).projection(doc! { "_id": 1 }).await.map_err(db_err)?;
                        first.and_then(|c| c.get_object_id("_id").ok()).is_some_and(|oid| oid < before)
                    }
                    _ => false,
                };
                if old {
                    deleted += chunks.delete_many(doc! { "files_id": id }).await.map_err(db_err)?.deleted_count;
                }
            }
        }
        Ok(deleted)
    }

    /// Connects to `url` and opens database `db_name`.
    pub async fn connect(url: &str, db_name: &str) -> Result<Self, BlobError> {
        let client = mongodb::Client::with_uri_str(url).await.map_err(db_err)?;
        Self::open(client.database(db_name)).await
    }

    /// The chunk size of files written from now on (files keep the size they were written with).
    pub fn with_chunk_size(mut self, bytes: u32) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    fn files(&self, bucket: Bucket) -> Collection<Document> {
        self.db.collection(&format!("{}.files", bucket.as_str()))
    }

    fn chunks(&self, bucket: Bucket) -> Collection<Document> {
        self.db.collection(&format!("{}.chunks", bucket.as_str()))
    }

    /// The files document of `id`. Our own files have string ids; other systems' GridFS
    /// writers (pymongo's, the drivers' defaults) give theirs an `ObjectId`, which an event
    /// names by its 24 hex digits: such an id is tried as an `ObjectId` when no string id
    /// matches. Chunks are then looked up by the document's own `_id` (`files_id`).
    async fn find_file(&self, bucket: Bucket, id: &str) -> Result<StoredFile, BlobError> {
        if !crate::is_valid_id(id) {
            return Err(BlobError::NotFound);
        }
        let files = self.files(bucket);
        if let Some(file) = stored_file(&files, Bson::String(id.to_owned())).await? {
            return Ok(file);
        }
        let Ok(oid) = ObjectId::parse_str(id) else { return Err(BlobError::NotFound) };
        stored_file(&files, Bson::ObjectId(oid)).await?.ok_or(BlobError::NotFound)
    }

    fn writer(&self, bucket: Bucket, id: &str) -> ChunkWriter {
        ChunkWriter {
            files: self.files(bucket),
            chunks: self.chunks(bucket),
            handle: self.handle.clone(),
            id: id.to_owned(),
            files_id: None,
            key: new_chunk_key(),
            chunk_size: self.chunk_size as usize,
            buf: Vec::new(),
            n: 0,
            len: 0,
            in_flight: VecDeque::new(),
            first: None,
            done: false,
        }
    }
}

/// Deletes the chunks of `file`: by `_id` when they are keyed, else by `files_id`.
async fn delete_chunks(chunks: &Collection<Document>, file: &StoredFile) -> mongodb::error::Result<()> {
    match &file.chunk_key {
        Some(key) => delete_keyed(chunks, key, file.chunk_count()).await,
        None => chunks.delete_many(doc! { "files_id": file.doc.id.clone() }).await.map(drop),
    }
}

/// Deletes chunks `0..count` keyed `key`, one `_id` at a time.
async fn delete_keyed(chunks: &Collection<Document>, key: &ChunkKey, count: u64) -> mongodb::error::Result<()> {
    for n in 0..count {
        chunks.delete_one(doc! { "_id": chunk_id(key, n) }).await?;
    }
    Ok(())
}

/// The files document of `id` with how to find its chunks, read by `_id` only.
async fn stored_file(files: &Collection<Document>, id: Bson) -> Result<Option<StoredFile>, BlobError> {
    let Some(found) = files.find_one(doc! { "_id": id }).await.map_err(db_err)? else { return Ok(None) };
    let chunk_key = found.get_str(CHUNK_KEY).ok().and_then(key_from_hex);
    let doc = mongodb::bson::from_document(found).map_err(|e| BlobError::Io(io_err(e)))?;
    Ok(Some(StoredFile { doc, chunk_key }))
}

fn file_info(id: &str, file: StoredFile) -> Result<BlobInfo, BlobError> {
    let file = file.doc;
    info(id, file.length, file.upload_date, file.filename, file.metadata)
}

fn info(id: &str, length: u64, upload_date: DateTime, filename: Option<String>, metadata: Option<Document>) -> Result<BlobInfo, BlobError> {
    let metadata = metadata.unwrap_or_default();
    let stored: StoredMeta = mongodb::bson::from_document(metadata).map_err(io_err)?;
    let meta = BlobMeta {
        owner_id: stored.owner_id,
        content_type: stored.content_type,
        filename: filename.unwrap_or_default(),
        video_id: stored.video_id,
        job_id: stored.job_id,
    };
    let etag = format!("\"{:x}-{:x}\"", length, upload_date.timestamp_millis());
    Ok(BlobInfo { id: id.to_owned(), size: length, meta, etag, written_at: upload_date.to_system_time() })
}

/// Writes chunk documents, with ids made from its [`ChunkKey`], under the id or a temporary
/// `files_id` (see the module's doc) until [`ChunkWriter::commit`]; chunks are inserted
/// while the next ones fill, except chunk 0, held until the commit.
struct ChunkWriter {
    files: Collection<Document>,
    chunks: Collection<Document>,
    handle: Handle,
    /// The id the file gets on commit.
    id: String,
    /// The chunks' `files_id`, chosen when the first chunk is written: the id itself, or a
    /// temporary `ObjectId` re-pointed on commit (see the module's doc).
    files_id: Option<Bson>,
    /// The key of this file's chunk ids.
    key: ChunkKey,
    chunk_size: usize,
    /// The bytes of chunk `n`, not yet written.
    buf: Vec<u8>,
    n: u32,
    len: u64,
    /// Inserts of the last chunks, running while the caller produces the next one (at most
    /// [`MAX_IN_FLIGHT`]: the server works on one while the next crosses the wire).
    in_flight: VecDeque<JoinHandle<mongodb::error::Result<()>>>,
    /// Chunk 0, inserted only on commit: the converter patches the MP3's first frame (the
    /// LAME tag) when it is done, and does so here for free instead of reading and rewriting a
    /// stored chunk on the way to `succeeded`.
    first: Option<Document>,
    done: bool,
}

impl ChunkWriter {
    async fn write(&mut self, mut data: &[u8]) -> mongodb::error::Result<()> {
        while !data.is_empty() {
            let take = (self.chunk_size - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            self.len += take as u64;
            data = &data[take..];
            if self.buf.len() == self.chunk_size {
                self.flush_chunk().await?;
            }
        }
        Ok(())
    }

    async fn flush_chunk(&mut self) -> mongodb::error::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = Binary { subtype: BinarySubtype::Generic, bytes: std::mem::take(&mut self.buf) };
        let files_id = match &self.files_id {
            Some(files_id) => files_id.clone(),
            None => self.choose_files_id().await?,
        };
        let chunk = doc! { "_id": chunk_id(&self.key, u64::from(self.n)), "files_id": files_id, "n": self.n as i32, "data": data };
        if self.n == 0 {
            self.first = Some(chunk);
        } else {
            self.insert(chunk).await?;
        }
        self.n += 1;
        Ok(())
    }

    /// Starts inserting `chunk`, first waiting for the oldest insert if too many run.
    async fn insert(&mut self, chunk: Document) -> mongodb::error::Result<()> {
        while self.in_flight.len() >= MAX_IN_FLIGHT {
            joined(self.in_flight.pop_front().expect("not empty")).await?;
        }
        let chunks = self.chunks.clone();
        self.in_flight.push_back(self.handle.spawn(async move { chunks.insert_one(chunk).await.map(drop) }));
        Ok(())
    }

    /// Waits for the chunk inserts in flight. All are awaited, so none is left running after
    /// an error.
    async fn settle(&mut self) -> mongodb::error::Result<()> {
        let mut result = Ok(());
        while let Some(insert) = self.in_flight.pop_front() {
            result = result.and(joined(insert).await);
        }
        result
    }

    /// The chunks' `files_id`: the id when no file has it (after deleting whatever an
    /// attempt cut short left under it), else a temporary `ObjectId`.
    async fn choose_files_id(&mut self) -> mongodb::error::Result<Bson> {
        let taken = self.files.find_one(doc! { "_id": self.id.as_str() }).projection(doc! { "_id": 1 }).await?.is_some();
        let files_id = if taken {
            Bson::ObjectId(ObjectId::new())
        } else {
            self.chunks.delete_many(doc! { "files_id": self.id.as_str() }).await?;
            Bson::String(self.id.clone())
        };
        self.files_id = Some(files_id.clone());
        Ok(files_id)
    }

    /// Whether the chunks went under the id itself (nothing to re-point on commit).
    fn is_direct(&self) -> bool {
        self.files_id.as_ref().is_some_and(|f| f.as_str().is_some())
    }

    /// Patches bytes already written: in the buffered chunk, or in the stored chunks.
    async fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.settle().await.map_err(io_err)?;
        if offset.saturating_add(bytes.len() as u64) > self.len {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "overwrite past the end"));
        }
        let (mut pos, mut rest, size) = (offset, bytes, self.chunk_size as u64);
        while !rest.is_empty() {
            let (n, within) = ((pos / size) as u32, (pos % size) as usize);
            let take = (self.chunk_size - within).min(rest.len());
            let held = if n == 0 { self.first.as_mut().and_then(|c| c.get_mut("data")) } else { None };
            if n == self.n {
                self.buf[within..within + take].copy_from_slice(&rest[..take]);
            } else if let Some(Bson::Binary(data)) = held {
                data.bytes[within..within + take].copy_from_slice(&rest[..take]);
            } else {
                let filter = doc! { "_id": chunk_id(&self.key, u64::from(n)) };
                let chunk = self.chunks.clone_with_type::<ChunkDoc>().find_one(filter.clone()).await.map_err(io_err)?;
                let mut data = chunk.ok_or_else(|| io_err("chunk missing"))?.data;
                data.bytes[within..within + take].copy_from_slice(&rest[..take]);
                self.chunks.update_one(filter, doc! { "$set": { "data": data } }).await.map_err(io_err)?;
            }
            pos += take as u64;
            rest = &rest[take..];
        }
        Ok(())
    }

    async fn commit(mut self, meta: &BlobMeta) -> Result<BlobInfo, BlobError> {
        self.flush_chunk().await.map_err(db_err)?;
        if let Some(first) = self.first.take() {
            self.insert(first).await.map_err(db_err)?;
        }
        self.settle().await.map_err(db_err)?;
        if !self.is_direct() {
            self.replace_earlier().await.map_err(db_err)?;
        }
        let id = self.id.as_str();
        let mut metadata = doc! { "owner_id": meta.owner_id.as_str(), "content_type": meta.content_type.as_str() };
        for (key, value) in [("video_id", meta.video_id.as_deref()), ("job_id", meta.job_id.as_deref())] {
            if let Some(value) = value {
                metadata.insert(key, value);
            }
        }
        let upload_date = DateTime::now();
        let file = doc! {
            "_id": id,
            "length": self.len as i64,
            "chunkSize": self.chunk_size as i32,
            "uploadDate": upload_date,
            "filename": meta.filename.as_str(),
            "metadata": metadata.clone(),
            CHUNK_KEY: key_to_hex(&self.key),
        };
        self.files.insert_one(file).await.map_err(db_err)?;
        self.done = true;
        info(id, self.len, upload_date, Some(meta.filename.clone()), Some(metadata))
    }

    /// Deletes the earlier file with the id (its files document, then everything under the
    /// id: its chunks, and any an attempt cut short left) and re-points this writer's chunks,
    /// under a temporary `files_id`, at the id.
    async fn replace_earlier(&mut self) -> mongodb::error::Result<()> {
        let id = self.id.as_str();
        self.files.delete_one(doc! { "_id": id }).await?;
        self.chunks.delete_many(doc! { "files_id": id }).await?;
        for n in 0..u64::from(self.n) {
            self.chunks.update_one(doc! { "_id": chunk_id(&self.key, n) }, doc! { "$set": { "files_id": id } }).await?;
        }
        Ok(())
    }

    async fn abort(mut self) {
        self.done = true;
        let _ = self.settle().await;
        let _ = delete_keyed(&self.chunks, &self.key, u64::from(self.n)).await;
    }
}

/// The outcome of a chunk insert; a panicked or cancelled task is an error too.
async fn joined(insert: JoinHandle<mongodb::error::Result<()>>) -> mongodb::error::Result<()> {
    insert.await.map_err(|e| mongodb::error::Error::custom(std::sync::Arc::new(e)))?
}

impl Drop for ChunkWriter {
    fn drop(&mut self) {
        if !self.done {
            let (chunks, key, count, in_flight) = (self.chunks.clone(), self.key, u64::from(self.n), std::mem::take(&mut self.in_flight));
            let _cleanup = self.handle.spawn(async move {
                for insert in in_flight {
                    let _ = insert.await;
                }
                let _ = delete_keyed(&chunks, &key, count).await;
            });
        }
    }
}

#[async_trait]
impl BlobStore for GridFsBlobStore {
    async fn put(
        &self,
        bucket: Bucket,
        id: &str,
        meta: BlobMeta,
        mut data: IncomingStream<'_>,
        max_bytes: u64,
    ) -> Result<BlobInfo, BlobError> {
        if !crate::is_valid_id(id) {
            return Err(BlobError::NotFound);
        }
        let mut writer = self.writer(bucket, id);
        let mut size = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    writer.abort().await;
                    return Err(BlobError::Source(e));
                }
            };
            size += chunk.len() as u64;
            if size > max_bytes {
                writer.abort().await;
                return Err(BlobError::TooLarge { limit: max_bytes });
            }
            if let Err(e) = writer.write(&chunk).await {
                writer.abort().await;
                return Err(db_err(e));
            }
        }
        writer.commit(&meta).await
    }

    async fn stat(&self, bucket: Bucket, id: &str) -> Result<BlobInfo, BlobError> {
        file_info(id, self.find_file(bucket, id).await?)
    }

    async fn read(&self, bucket: Bucket, id: &str, range: Range<u64>) -> Result<ByteStream, BlobError> {
        let file = self.find_file(bucket, id).await?;
        let end = range.end.min(file.doc.length);
        let start = range.start.min(end);
        if start == end {
            return Ok(stream::empty().boxed());
        }
        let size = file.chunk_size();
        let (first, last) = (start / size, (end - 1) / size);
        let chunks = self.chunks(bucket).clone_with_type::<ChunkDoc>();
        // Our files: one query by `_id` per chunk. Another driver's: one cursor by `files_id`.
        let cursor = match &file.chunk_key {
            Some(_) => None,
            None => {
                let filter = doc! { "files_id": file.doc.id.clone(), "n": { "$gte": first as i64, "$lte": last as i64 } };
                Some(chunks.find(filter).sort(doc! { "n": 1 }).await.map_err(db_err)?)
            }
        };
        let key = file.chunk_key;
        let bytes = stream::try_unfold((cursor, first), move |(mut cursor, n)| {
            let chunks = chunks.clone();
            async move {
                if n > last {
                    return Ok(None);
                }
                let chunk = match (&mut cursor, &key) {
                    (Some(cursor), _) => cursor.try_next().await.map_err(io_err)?,
                    (None, Some(key)) => chunks.find_one(doc! { "_id": chunk_id(key, n) }).await.map_err(io_err)?,
                    (None, None) => None,
                };
                let data = chunk.filter(|c| c.n as u64 == n).ok_or_else(|| io_err(format!("chunk {n} is missing")))?.data.bytes;
                let chunk_start = n * size;
                let (lo, hi) = ((start.max(chunk_start) - chunk_start) as usize, (end.min(chunk_start + size) - chunk_start) as usize);
                if data.len() < hi {
                    return Err(io_err(format!("chunk {n} is too short")));
                }
                Ok(Some((bytes::Bytes::from(data).slice(lo..hi), (cursor, n + 1))))
            }
        });
        Ok(bytes.boxed())
    }

    async fn delete(&self, bucket: Bucket, id: &str) -> Result<(), BlobError> {
        if !crate::is_valid_id(id) {
            return Err(BlobError::NotFound);
        }
        let file = match self.find_file(bucket, id).await {
            Ok(file) => file,
            // Chunks of a string id with no files document (a commit cut short) go too.
            Err(BlobError::NotFound) => {
                self.chunks(bucket).delete_many(doc! { "files_id": id }).await.map_err(db_err)?;
                return Err(BlobError::NotFound);
            }
            Err(e) => return Err(e),
        };
        // The stored `_id`: a string, or another writer's ObjectId.
        self.files(bucket).delete_one(doc! { "_id": file.doc.id.clone() }).await.map_err(db_err)?;
        delete_chunks(&self.chunks(bucket), &file).await.map_err(db_err)?;
        Ok(())
    }

    async fn usage(&self, owner_id: &str) -> Result<u64, BlobError> {
        let pipeline =
            [doc! { "$match": { "metadata.owner_id": owner_id } }, doc! { "$group": { "_id": null, "bytes": { "$sum": "$length" } } }];
        let mut total = 0u64;
        for bucket in [Bucket::Videos, Bucket::Mp3s] {
            let groups: Vec<Document> =
                self.files(bucket).aggregate(pipeline.clone()).await.map_err(db_err)?.try_collect().await.map_err(db_err)?;
            let bytes = match groups.first().and_then(|g| g.get("bytes")) {
                None => 0,
                Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
                Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
                Some(Bson::Double(n)) => *n as u64,
                Some(other) => return Err(BlobError::Io(io_err(format!("bad usage sum {other:?}")))),
            };
            total = total.saturating_add(bytes);
        }
        Ok(total)
    }

    async fn written_before(&self, bucket: Bucket, before: SystemTime, skip: usize, limit: usize) -> Result<Vec<BlobInfo>, BlobError> {
        let filter = doc! { "uploadDate": { "$lt": DateTime::from_system_time(before) } };
        let files = self.files(bucket).clone_with_type::<FilesCollectionDocument>();
        let cursor = files
            .find(filter)
            .sort(doc! { "uploadDate": 1, "_id": 1 })
            .skip(u64::try_from(skip).unwrap_or(u64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(db_err)?;
        let docs: Vec<FilesCollectionDocument> = cursor.try_collect().await.map_err(db_err)?;
        docs.into_iter()
            .map(|file| {
                // Another writer's ObjectId is named by its hex digits, as `find_file` takes it.
                let id = match &file.id {
                    Bson::String(id) => id.clone(),
                    Bson::ObjectId(oid) => oid.to_hex(),
                    other => other.to_string(),
                };
                info(&id, file.length, file.upload_date, file.filename, file.metadata)
            })
            .collect()
    }

    fn open_sync(&self, bucket: Bucket, id: &str) -> Result<Box<dyn MediaSource>, BlobError> {
        let file = self.handle.block_on(self.find_file(bucket, id))?;
        Ok(Box::new(ChunkReader::new(self.handle.clone(), self.chunks(bucket).clone_with_type(), file)))
    }

    fn create_sync(&self, bucket: Bucket, id: &str, meta: BlobMeta) -> Result<Box<dyn BlobSink>, BlobError> {
        if !crate::is_valid_id(id) {
            return Err(BlobError::NotFound);
        }
        Ok(Box::new(GridFsSink { writer: self.writer(bucket, id), meta }))
    }
}

/// How many chunks of another driver's file the converter's reader fetches per query
/// (8 × 255 KiB ≈ 2 MiB): on a server that scans for `files_id`/`n` (FerretDB's SQLite
/// backend) each query reads the whole collection. Our own files are read a chunk at a
/// time, by `_id`.
const READ_WINDOW: u64 = 8;

/// How many bytes of recently read chunks the converter's reader keeps (at least two
/// chunks): demuxers step back a little (MP4's interleaved samples) or go to the end and
/// back (an MP4 index written last), and a chunk read again costs the server as much as the
/// first time (FerretDB decodes a 1 MiB chunk from JSON in ~60 ms of CPU).
const CACHE_BYTES: u64 = 4 << 20;

/// Chunks of our files fetched ahead and not yet read: the next one, and one left from
/// before a seek (the demuxer usually comes back to it).
const MAX_AHEAD: usize = 2;

type ChunkFetch = JoinHandle<mongodb::error::Result<Option<ChunkDoc>>>;

/// A blocking, seekable reader over a stored file (seeking is free). It keeps the chunks it
/// read last, so no chunk is fetched twice when the demuxer steps back; reading our files in
/// order, it fetches each next chunk while the caller is busy with the current one, so the
/// database's latency hides behind the conversion.
struct ChunkReader {
    handle: Handle,
    chunks: Collection<ChunkDoc>,
    /// The files document's `_id`, a string or an `ObjectId`.
    files_id: Bson,
    /// The key of the chunk ids, for our own files.
    chunk_key: Option<ChunkKey>,
    len: u64,
    size: u64,
    pos: u64,
    /// Chunks read, by number, the most recently used last.
    cache: VecDeque<(u64, Vec<u8>)>,
    /// Our files: chunks being fetched before they are read.
    ahead: Vec<(u64, ChunkFetch)>,
}

impl ChunkReader {
    fn new(handle: Handle, chunks: Collection<ChunkDoc>, file: StoredFile) -> Self {
        let size = file.chunk_size();
        let (files_id, len, chunk_key) = (file.doc.id, file.doc.length, file.chunk_key);
        Self { handle, chunks, files_id, chunk_key, len, size, pos: 0, cache: VecDeque::new(), ahead: Vec::new() }
    }

    /// The cached chunk `n`, made the most recently used.
    fn cached(&mut self, n: u64) -> Option<&[u8]> {
        let at = self.cache.iter().position(|(m, _)| *m == n)?;
        let chunk = self.cache.remove(at)?;
        self.cache.push_back(chunk);
        self.cache.back().map(|(_, data)| data.as_slice())
    }

    fn keep(&mut self, n: u64, data: Vec<u8>) {
        let capacity = (CACHE_BYTES / self.size).max(2) as usize;
        self.cache.retain(|(m, _)| *m != n);
        self.cache.push_back((n, data));
        while self.cache.len() > capacity {
            self.cache.pop_front();
        }
    }

    /// Fetches chunk `n` (ours, by `_id`) or chunks `n..n + READ_WINDOW` (another driver's,
    /// those that exist) into the cache.
    fn load(&mut self, n: u64) -> std::io::Result<()> {
        let Some(key) = self.chunk_key else { return self.load_window(n) };
        let fetch = match self.ahead.iter().position(|(m, _)| *m == n) {
            Some(at) => self.ahead.swap_remove(at).1,
            None => self.fetch(&key, n),
        };
        let chunk = self.handle.block_on(fetch).map_err(io_err)?.map_err(io_err)?;
        let chunk = chunk.filter(|c| c.n as u64 == n).ok_or_else(|| io_err(format!("chunk {n} is missing")))?;
        self.keep(n, chunk.data.bytes);
        let next = n + 1;
        let coming = self.cache.iter().any(|(m, _)| *m == next) || self.ahead.iter().any(|(m, _)| *m == next);
        if next * self.size < self.len && !coming {
            if self.ahead.len() >= MAX_AHEAD {
                self.ahead.remove(0).1.abort();
            }
            self.ahead.push((next, self.fetch(&key, next)));
        }
        Ok(())
    }

    fn load_window(&mut self, first: u64) -> std::io::Result<()> {
        let chunks = &self.chunks;
        let filter = doc! { "files_id": self.files_id.clone(), "n": { "$gte": first as i64, "$lt": (first + READ_WINDOW) as i64 } };
        let mut found: Vec<ChunkDoc> =
            self.handle.block_on(async { chunks.find(filter).sort(doc! { "n": 1 }).await?.try_collect().await }).map_err(io_err)?;
        found.sort_by_key(|c| c.n);
        if found.first().is_none_or(|c| c.n as u64 != first) {
            return Err(io_err(format!("chunk {first} is missing")));
        }
        for (i, chunk) in found.into_iter().enumerate() {
            if chunk.n as u64 != first + i as u64 {
                break;
            }
            self.keep(first + i as u64, chunk.data.bytes);
        }
        Ok(())
    }

    /// Starts fetching chunk `n` of our file keyed `key`.
    fn fetch(&self, key: &ChunkKey, n: u64) -> ChunkFetch {
        let (chunks, id) = (self.chunks.clone(), chunk_id(key, n));
        self.handle.spawn(async move { chunks.find_one(doc! { "_id": id }).await })
    }
}

impl Drop for ChunkReader {
    fn drop(&mut self) {
        for (_, fetch) in self.ahead.drain(..) {
            fetch.abort();
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.len || out.is_empty() {
            return Ok(0);
        }
        let n = self.pos / self.size;
        if self.cached(n).is_none() {
            self.load(n)?;
        }
        let (within, left) = ((self.pos - n * self.size) as usize, self.len - self.pos);
        let data = self.cached(n).ok_or_else(|| io_err(format!("chunk {n} is missing")))?;
        if within >= data.len() {
            return Err(io_err(format!("chunk {n} is too short")));
        }
        let take = (data.len() - within).min(out.len()).min(left as usize);
        out[..take].copy_from_slice(&data[within..within + take]);
        self.pos += take as u64;
        Ok(take)
    }
}

impl Seek for ChunkReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(pos) => Some(pos),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        self.pos = target.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

impl MediaSource for ChunkReader {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// The converter's sink: a [`ChunkWriter`] driven from a blocking thread.
struct GridFsSink {
    writer: ChunkWriter,
    meta: BlobMeta,
}

impl Write for GridFsSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let handle = self.writer.handle.clone();
        handle.block_on(self.writer.write(buf)).map_err(io_err)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Mp3Sink for GridFsSink {
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let handle = self.writer.handle.clone();
        handle.block_on(self.writer.overwrite(offset, bytes))
    }
}

impl BlobSink for GridFsSink {
    fn commit(self: Box<Self>) -> Result<BlobInfo, BlobError> {
        let Self { writer, meta } = *self;
        let handle = writer.handle.clone();
        handle.block_on(writer.commit(&meta))
    }
}
