use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use platform::blob_store::fs::FsBlobStore;
use platform::blob_store::gridfs::{DEFAULT_CHUNK_SIZE, GridFsBlobStore};
use platform::blob_store::{BlobError, BlobMeta, BlobStore, Bucket, IncomingStream};

use crate::services;

fn meta() -> BlobMeta {
    BlobMeta { owner_id: "owner".into(), content_type: "video/mp4".into(), filename: "a.mp4".into(), video_id: None, job_id: None }
}

fn chunks(data: &[u8]) -> IncomingStream<'static> {
    let parts: Vec<std::io::Result<Bytes>> = data.chunks(1000).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    stream::iter(parts).boxed()
}

async fn read_all(store: &dyn BlobStore, id: &str, range: std::ops::Range<u64>) -> Vec<u8> {
    let parts: Vec<Bytes> = store.read(Bucket::Videos, id, range).await.unwrap().try_collect().await.unwrap();
    parts.concat()
}

fn data() -> Vec<u8> {
    (0..10_000u32).map(|i| (i % 251) as u8).collect()
}

async fn put_then_read_ranges(store: &dyn BlobStore) {
    let data = data();
    let info = store.put(Bucket::Videos, "blob1", meta(), chunks(&data), 1 << 20).await.unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(store.stat(Bucket::Videos, "blob1").await.unwrap().meta, meta());
    assert_eq!(read_all(store, "blob1", 0..u64::MAX).await, data);
    assert_eq!(read_all(store, "blob1", 4000..4100).await, &data[4000..4100]);
    assert_eq!(read_all(store, "blob1", 9990..20_000).await, &data[9990..]);
    // The same id in the other bucket is another file.
    assert!(matches!(store.stat(Bucket::Mp3s, "blob1").await, Err(BlobError::NotFound)));
}

async fn too_large_leaves_nothing(store: &dyn BlobStore) {
    let err = store.put(Bucket::Videos, "big", meta(), chunks(&data()), 5000).await.unwrap_err();
    assert!(matches!(err, BlobError::TooLarge { limit: 5000 }), "{err:?}");
    assert!(matches!(store.stat(Bucket::Videos, "big").await, Err(BlobError::NotFound)));
}

async fn a_failing_source_leaves_nothing(store: &dyn BlobStore) {
    let failing = stream::iter(vec![Ok(Bytes::from_static(b"abc")), Err(std::io::Error::other("client went away"))]).boxed();
    let err = store.put(Bucket::Videos, "broken", meta(), failing, 1 << 20).await.unwrap_err();
    assert!(matches!(err, BlobError::Source(_)), "{err:?}");
    assert!(matches!(store.stat(Bucket::Videos, "broken").await, Err(BlobError::NotFound)));
}

async fn delete_then_not_found(store: &dyn BlobStore) {
    store.put(Bucket::Videos, "gone", meta(), chunks(b"12345"), 100).await.unwrap();
    store.delete(Bucket::Videos, "gone").await.unwrap();
    assert!(matches!(store.stat(Bucket::Videos, "gone").await, Err(BlobError::NotFound)));
    assert!(matches!(store.read(Bucket::Videos, "gone", 0..5).await, Err(BlobError::NotFound)));
    assert!(matches!(store.delete(Bucket::Videos, "gone").await, Err(BlobError::NotFound)));
}

async fn unsafe_ids_are_not_found(store: &dyn BlobStore) {
    for id in ["../x", "a/b", "", ".."] {
        assert!(matches!(store.stat(Bucket::Videos, id).await, Err(BlobError::NotFound)), "{id:?}");
    }
}

/// The converter's path: a blocking sink that overwrites its first bytes, then commits.
async fn sink_overwrites_head_and_is_invisible_until_commit(store: &'static dyn BlobStore) {
    tokio::task::spawn_blocking(move || {
        let mut sink = store.create_sync(Bucket::Mp3s, "mp3a", meta()).unwrap();
        sink.write_all(b"PLACEHOLDER-rest-of-the-file").unwrap();
        sink.overwrite(0, b"HEADER").unwrap();
        sink.write_all(b"-tail").unwrap();
        assert!(matches!(store.open_sync(Bucket::Mp3s, "mp3a"), Err(BlobError::NotFound)), "visible before commit");
        let info = sink.commit().unwrap();
        assert_eq!(info.size, 33);
        let mut reader = store.open_sync(Bucket::Mp3s, "mp3a").unwrap();
        let mut all = String::new();
        reader.read_to_string(&mut all).unwrap();
        assert_eq!(all, "HEADEROLDER-rest-of-the-file-tail");
        reader.seek(SeekFrom::Start(28)).unwrap();
        let mut tail = String::new();
        reader.read_to_string(&mut tail).unwrap();
        assert_eq!(tail, "-tail");

        let dropped = store.create_sync(Bucket::Mp3s, "mp3b", meta()).unwrap();
        drop(dropped);
        assert!(matches!(store.open_sync(Bucket::Mp3s, "mp3b"), Err(BlobError::NotFound)));
    })
    .await
    .unwrap();
}

fn owned_by(owner: &str) -> BlobMeta {
    BlobMeta { owner_id: owner.into(), ..meta() }
}

/// Usage per owner across both buckets, through every way a file comes and goes. `store`
/// was asked nothing before.
async fn usage_counts_each_owners_files(store: &'static dyn BlobStore) {
    assert_eq!(store.usage("alice").await.unwrap(), 0);
    store.put(Bucket::Videos, "v1", owned_by("alice"), chunks(&data()), 1 << 20).await.unwrap();
    store.put(Bucket::Videos, "v2", owned_by("bob"), chunks(&data()[..300]), 1 << 20).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut sink = store.create_sync(Bucket::Mp3s, "m1", owned_by("alice")).unwrap();
        sink.write_all(&[7; 2500]).unwrap();
        sink.commit().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(store.usage("alice").await.unwrap(), 12_500, "a video and an MP3");
    assert_eq!(store.usage("bob").await.unwrap(), 300);

    // Refused and failed writes count nothing; a replaced file counts at its new size.
    store.put(Bucket::Videos, "big", owned_by("alice"), chunks(&data()), 100).await.unwrap_err();
    store.put(Bucket::Videos, "v1", owned_by("alice"), chunks(b"short"), 1 << 20).await.unwrap();
    assert_eq!(store.usage("alice").await.unwrap(), 2505);
    store.delete(Bucket::Mp3s, "m1").await.unwrap();
    assert_eq!(store.usage("alice").await.unwrap(), 5);
    store.delete(Bucket::Videos, "v1").await.unwrap();
    assert_eq!(store.usage("alice").await.unwrap(), 0);
    assert_eq!(store.usage("bob").await.unwrap(), 300);
    assert_eq!(store.usage("nobody").await.unwrap(), 0);
}

/// The retention sweep's listing: files stored before a time, oldest first, in pages.
async fn files_written_before_come_oldest_first(store: &dyn BlobStore) {
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = format!("old{n}");
        store.put(Bucket::Mp3s, &id, meta(), chunks(&data()[..10 + n]), 1 << 20).await.unwrap();
        ids.push(id);
        // Distinct times (GridFS keeps milliseconds).
        let after = store.stat(Bucket::Mp3s, &ids[n]).await.unwrap().written_at;
        while std::time::SystemTime::now() <= after + Duration::from_millis(2) {
            tokio::task::yield_now().await;
        }
    }
    let cutoff = std::time::SystemTime::now();
    store.put(Bucket::Mp3s, "new", meta(), chunks(b"new"), 1 << 20).await.unwrap();
    store.put(Bucket::Videos, "a_video", meta(), chunks(b"video"), 1 << 20).await.unwrap();
    let listed = |files: Vec<platform::blob_store::BlobInfo>| files.into_iter().map(|f| (f.id, f.size)).collect::<Vec<_>>();
    let expected: Vec<(String, u64)> = ids.iter().enumerate().map(|(n, id)| (id.clone(), 10 + n as u64)).collect();
    assert_eq!(listed(store.written_before(Bucket::Mp3s, cutoff, 0, 100).await.unwrap()), expected, "all before the cutoff, oldest first");
    assert_eq!(listed(store.written_before(Bucket::Mp3s, cutoff, 1, 2).await.unwrap()), expected[1..3], "a page");
    assert_eq!(listed(store.written_before(Bucket::Mp3s, cutoff, 5, 2).await.unwrap()), [], "past the end");
    let first = store.stat(Bucket::Mp3s, "old0").await.unwrap().written_at;
    assert_eq!(listed(store.written_before(Bucket::Mp3s, first, 0, 100).await.unwrap()), [], "strictly before");
    // Deleted files leave the listing.
    store.delete(Bucket::Mp3s, "old0").await.unwrap();
    assert_eq!(listed(store.written_before(Bucket::Mp3s, cutoff, 0, 1).await.unwrap()), expected[1..2]);
    let later = std::time::SystemTime::now() + Duration::from_secs(1);
    assert_eq!(store.written_before(Bucket::Videos, later, 0, 100).await.unwrap().len(), 1, "the other bucket's");
}

fn fs_store() -> (tempfile::TempDir, &'static FsBlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = Box::leak(Box::new(FsBlobStore::open(dir.path()).unwrap()));
    (dir, store)
}

#[tokio::test]
async fn fs_put_then_read_ranges() {
    let (_dir, store) = fs_store();
    put_then_read_ranges(store).await;
}

#[tokio::test]
async fn fs_too_large_leaves_nothing() {
    let (dir, store) = fs_store();
    too_large_leaves_nothing(store).await;
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "temp file left behind");
}

#[tokio::test]
async fn fs_a_failing_source_leaves_nothing() {
    let (dir, store) = fs_store();
    a_failing_source_leaves_nothing(store).await;
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "temp file left behind");
}

#[tokio::test]
async fn fs_delete_then_not_found() {
    let (_dir, store) = fs_store();
    delete_then_not_found(store).await;
}

#[tokio::test]
async fn fs_unsafe_ids_are_not_found() {
    let (_dir, store) = fs_store();
    unsafe_ids_are_not_found(store).await;
}

#[tokio::test]
async fn fs_sink_overwrites_head_and_is_invisible_until_commit() {
    let (_dir, store) = fs_store();
    sink_overwrites_head_and_is_invisible_until_commit(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_usage_counts_each_owners_files() {
    let (_dir, store) = fs_store();
    usage_counts_each_owners_files(store).await;
}

/// Usage counted from the sidecars at the first question (a restart), then kept up to date.
#[tokio::test]
async fn fs_usage_is_counted_from_what_an_earlier_process_stored() {
    let dir = tempfile::tempdir().unwrap();
    let earlier = FsBlobStore::open(dir.path()).unwrap();
    earlier.put(Bucket::Videos, "v1", owned_by("alice"), chunks(&data()), 1 << 20).await.unwrap();
    earlier.put(Bucket::Mp3s, "m1", owned_by("alice"), chunks(&[1; 100]), 1 << 20).await.unwrap();
    drop(earlier);
    let store = FsBlobStore::open(dir.path()).unwrap();
    assert_eq!(store.usage("alice").await.unwrap(), 10_100);
    store.delete(Bucket::Videos, "v1").await.unwrap();
    store.put(Bucket::Videos, "v2", owned_by("alice"), chunks(&[1; 50]), 1 << 20).await.unwrap();
    assert_eq!(store.usage("alice").await.unwrap(), 150);
}

#[tokio::test]
async fn fs_files_written_before_come_oldest_first() {
    let (_dir, store) = fs_store();
    files_written_before_come_oldest_first(store).await;
}

#[tokio::test]
async fn fs_open_clears_unfinished_writes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp/leftover"), b"half a video").unwrap();
    FsBlobStore::open(dir.path()).unwrap();
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

/// A fresh database on the MongoDB-wire server; dropped by [`drop_db`] at the end of a test.
async fn gridfs_store(chunk_size: u32) -> (mongodb::Database, &'static GridFsBlobStore) {
    let client = mongodb::Client::with_uri_str(services::url("MP3CONVERT_MONGODB_URL")).await.unwrap();
    let db = client.database(&services::unique("mp3convert_test"));
    let store = GridFsBlobStore::open(db.clone()).await.unwrap().with_chunk_size(chunk_size);
    (db, Box::leak(Box::new(store)))
}

async fn drop_db(db: mongodb::Database) {
    db.drop().await.unwrap();
}

async fn chunk_count(db: &mongodb::Database, bucket: Bucket) -> u64 {
    let chunks = db.collection::<mongodb::bson::Document>(&format!("{}.chunks", bucket.as_str()));
    chunks.count_documents(mongodb::bson::doc! {}).await.unwrap()
}

#[tokio::test]
async fn gridfs_put_then_read_ranges() {
    // A small chunk size so the ranges cross chunk boundaries.
    let (db, store) = gridfs_store(1024).await;
    put_then_read_ranges(store).await;
    drop_db(db).await;
}

#[tokio::test]
async fn gridfs_files_written_before_come_oldest_first() {
    let (db, store) = gridfs_store(1024).await;
    files_written_before_come_oldest_first(store).await;
    drop_db(db).await;
}

#[tokio::test]
async fn gridfs_too_large_leaves_nothing() {
    let (db, store) = gridfs_store(1024).await;
    too_large_leaves_nothing(store).await;
    assert_eq!(chunk_count(&db, Bucket::Videos).await, 0, "chunks left behind");
    drop_db(db).await;
}

#[tokio::test]
async fn gridfs_a_failing_source_leaves_nothing() {
    let (db, store) = gridfs_store(2).await;
    a_failing_source_leaves_nothing(store).await;
    assert_eq!(chunk_count(&db, Bucket::Videos).await, 0, "chunks left behind");
    drop_db(db).await;
}

#[tokio::test]
async fn gridfs_delete_then_not_found() {
    let (db, store) = gridfs_store(DEFAULT_CHUNK_SIZE).await;
    delete_then_not_found(store).await;
    assert_eq!(chunk_count(&db, Bucket::Videos).await, 0, "chunks left behind");
    drop_db(db).await;
}

#[tokio::test]
async fn gridfs_unsafe_ids_are_not_found() {
    let (db, store) = gridfs_store(DEFAULT_CHUNK_SIZE).await;
    unsafe_ids_are_not_found(store).await;
    drop_db(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_sink_overwrites_head_and_is_invisible_until_commit() {
    // 4-byte chunks: the overwrite spans chunks already written and the tail is buffered.
    let (db, store) = gridfs_store(4).await;
    sink_overwrites_head_and_is_invisible_until_commit(store).await;
    drop_db(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_usage_counts_each_owners_files() {
    let (db, store) = gridfs_store(1024).await;
    usage_counts_each_owners_files(store).await;
    // Opening again (every function does at start-up) finds the usage index there.
    GridFsBlobStore::open(db.clone()).await.expect("a second open");
    drop_db(db).await;
}

#[tokio::test]
async fn gridfs_range_read_at_a_large_offset() {
    let (db, store) = gridfs_store(4000).await;
    let data = data();
    store.put(Bucket::Videos, "far", meta(), chunks(&data), 1 << 20).await.unwrap();
    assert_eq!(chunk_count(&db, Bucket::Videos).await, 3);
    assert_eq!(read_all(store, "far", 8500..9500).await, &data[8500..9500]);
    assert_eq!(read_all(store, "far", 3999..4001).await, &data[3999..4001]);
    assert!(read_all(store, "far", 10_000..20_000).await.is_empty());
    drop_db(db).await;
}

#[tokio::test]
async fn gridfs_put_replaces_an_earlier_file() {
    let (db, store) = gridfs_store(1024).await;
    store.put(Bucket::Videos, "again", meta(), chunks(&data()), 1 << 20).await.unwrap();
    store.put(Bucket::Videos, "again", meta(), chunks(b"short"), 1 << 20).await.unwrap();
    assert_eq!(read_all(store, "again", 0..u64::MAX).await, b"short");
    assert_eq!(chunk_count(&db, Bucket::Videos).await, 1);
    drop_db(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_files_are_readable_by_the_drivers_gridfs() {
    use futures_util::AsyncReadExt;
    let (db, store) = gridfs_store(1000).await;
    let mp3_meta = BlobMeta { content_type: "audio/mpeg".into(), video_id: Some("v1".into()), job_id: Some("j1".into()), ..meta() };
    let sink_meta = mp3_meta.clone();
    let data = data();
    let written = data.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = store.create_sync(Bucket::Mp3s, "j1", sink_meta).unwrap();
        sink.write_all(&written).unwrap();
        sink.overwrite(998, b"HEAD").unwrap();
        sink.commit().unwrap();
    })
    .await
    .unwrap();
    let mut expected = data.clone();
    expected[998..1002].copy_from_slice(b"HEAD");

    let bucket = db.gridfs_bucket(mongodb::options::GridFsBucketOptions::builder().bucket_name("mp3s".to_owned()).build());
    let mut download = bucket.open_download_stream(mongodb::bson::Bson::String("j1".into())).await.unwrap();
    let mut bytes = Vec::new();
    download.read_to_end(&mut bytes).await.unwrap();
    assert_eq!(bytes, expected);
    let file = bucket.find_one(mongodb::bson::doc! { "_id": "j1" }).await.unwrap().unwrap();
    assert_eq!((file.length, file.filename.as_deref()), (10_000, Some("a.mp4")));
    let metadata = file.metadata.unwrap();
    for (key, value) in [("owner_id", "owner"), ("content_type", "audio/mpeg"), ("video_id", "v1"), ("job_id", "j1")] {
        assert_eq!(metadata.get_str(key).unwrap(), value, "{key}");
    }
    // And the other way round: a file the driver wrote is readable here.
    let mut upload = bucket.open_upload_stream("other.mp3").id(mongodb::bson::Bson::String("j2".into())).metadata(metadata).await.unwrap();
    futures_util::AsyncWriteExt::write_all(&mut upload, &expected).await.unwrap();
    futures_util::AsyncWriteExt::close(&mut upload).await.unwrap();
    let parts: Vec<Bytes> = store.read(Bucket::Mp3s, "j2", 5000..6000).await.unwrap().try_collect().await.unwrap();
    assert_eq!(parts.concat(), &expected[5000..6000]);
    assert_eq!(store.stat(Bucket::Mp3s, "j2").await.unwrap().meta, BlobMeta { filename: "other.mp3".into(), ..mp3_meta });
    drop_db(db).await;
}

/// pymongo's and the drivers' GridFS give a file an `ObjectId` unless told otherwise; such a
/// file is found by its id's 24 hex digits (how another system names it in an event).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_a_file_with_an_objectid_is_found_by_its_hex_id() {
    let (db, store) = gridfs_store(1000).await;
    let bucket = db.gridfs_bucket(mongodb::options::GridFsBucketOptions::builder().bucket_name("videos".to_owned()).build());
    let data = data();
    let mut upload = bucket.open_upload_stream("film.mp4").metadata(mongodb::bson::doc! { "owner_id": "owner" }).await.unwrap();
    futures_util::AsyncWriteExt::write_all(&mut upload, &data).await.unwrap();
    futures_util::AsyncWriteExt::close(&mut upload).await.unwrap();
    let id = upload.id().as_object_id().expect("the driver's default id is an ObjectId").to_hex();

    let info = store.stat(Bucket::Videos, &id).await.unwrap();
    assert_eq!((info.size, info.meta.owner_id.as_str()), (10_000, "owner"));
    assert_eq!(read_all(store, &id, 2500..7500).await, &data[2500..7500]);
    let mut reader = tokio::task::spawn_blocking({
        let id = id.clone();
        move || store.open_sync(Bucket::Videos, &id).unwrap()
    })
    .await
    .unwrap();
    let tail = tokio::task::spawn_blocking(move || {
        reader.seek(SeekFrom::Start(9000)).unwrap();
        let mut tail = Vec::new();
        reader.read_to_end(&mut tail).unwrap();
        tail
    })
    .await
    .unwrap();
    assert_eq!(tail, &data[9000..]);
    store.delete(Bucket::Videos, &id).await.unwrap();
    assert!(matches!(store.stat(Bucket::Videos, &id).await, Err(BlobError::NotFound)));
    assert_eq!(chunk_count(&db, Bucket::Videos).await, 0, "its chunks went with it");
    drop_db(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_a_dropped_sink_leaves_no_chunks() {
    let (db, store) = gridfs_store(4).await;
    tokio::task::spawn_blocking(move || {
        let mut sink = store.create_sync(Bucket::Mp3s, "dropped", meta()).unwrap();
        sink.write_all(b"some bytes of an mp3").unwrap();
    })
    .await
    .unwrap();
    // The sink's clean-up runs as a task: wait for it briefly.
    let mut left = u64::MAX;
    for _ in 0..100 {
        left = chunk_count(&db, Bucket::Mp3s).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(left, 0, "chunks left behind");
    drop_db(db).await;
}

/// A writer killed mid-write (no drop, no abort) leaves chunks under a temporary id, or under
/// a new file's string id; the sweep deletes old ones, and only those: not a write still
/// running, not a file another driver stored under an `ObjectId`, not a file of ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_the_sweep_deletes_only_orphans_of_dead_writers() {
    use mongodb::bson::{Binary, doc, oid::ObjectId, spec::BinarySubtype};
    let (db, store) = gridfs_store(4).await;
    let chunks = db.collection::<mongodb::bson::Document>("videos.chunks");
    let id_at = |seconds_ago: u32| {
        let mut bytes = [0u8; 12];
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32;
        bytes[..4].copy_from_slice(&(now - seconds_ago).to_be_bytes());
        bytes[11] = (seconds_ago % 251) as u8;
        ObjectId::from_bytes(bytes)
    };
    let chunk = |files_id: ObjectId, n: i32| doc! { "files_id": files_id, "n": n, "data": Binary { subtype: BinarySubtype::Generic, bytes: vec![1, 2] } };
    let (dead, running, foreign) = (id_at(7200), id_at(5), id_at(7300));
    chunks.insert_many([chunk(dead, 0), chunk(dead, 1), chunk(running, 0), chunk(foreign, 0)]).await.unwrap();
    let files = db.collection::<mongodb::bson::Document>("videos.files");
    files
        .insert_one(doc! { "_id": foreign, "length": 2_i64, "chunkSize": 4, "uploadDate": mongodb::bson::DateTime::now(), "filename": "f", "metadata": { "owner_id": "o" } })
        .await
        .unwrap();

    // under string ids, the chunks' `_id`s carry the time
    let named = |id: &str, at: ObjectId| doc! { "_id": at, "files_id": id, "n": 0, "data": Binary { subtype: BinarySubtype::Generic, bytes: vec![1, 2] } };
    chunks.insert_many([named("dead-upload", id_at(7250)), named("running-upload", id_at(3)), named("stored", id_at(7400))]).await.unwrap();
    files
        .insert_one(doc! { "_id": "stored", "length": 2_i64, "chunkSize": 4, "uploadDate": mongodb::bson::DateTime::now(), "filename": "s", "metadata": { "owner_id": "o" } })
        .await
        .unwrap();

    assert_eq!(store.sweep_orphans(std::time::Duration::from_secs(3600)).await.unwrap(), 3);
    for (files_id, left) in [(dead, 0), (running, 1), (foreign, 1)] {
        assert_eq!(chunks.count_documents(doc! { "files_id": files_id }).await.unwrap(), left, "{files_id}");
    }
    for (files_id, left) in [("dead-upload", 0), ("running-upload", 1), ("stored", 1)] {
        assert_eq!(chunks.count_documents(doc! { "files_id": files_id }).await.unwrap(), left, "{files_id}");
    }
    drop_db(db).await;
}

/// The filters of the commands sent to `*.chunks` collections (`find`, `update`, `delete`).
fn chunk_filters(commands: &[mongodb::bson::Document]) -> Vec<mongodb::bson::Document> {
    let mut filters = Vec::new();
    for command in commands {
        let Some((name, target)) = command.iter().next() else { continue };
        if !target.as_str().is_some_and(|c| c.ends_with(".chunks")) {
            continue;
        }
        match name.as_str() {
            "find" => filters.push(command.get_document("filter").cloned().unwrap_or_default()),
            "update" | "delete" => {
                let (list, key) = if name == "update" { ("updates", "q") } else { ("deletes", "q") };
                for op in command.get_array(list).unwrap() {
                    filters.push(op.as_document().unwrap().get_document(key).unwrap().clone());
                }
            }
            _ => {}
        }
    }
    filters
}

/// Putting, replacing, reading (streamed and blocking), patching and deleting one of our
/// files touches chunks by `_id` only: what a server without secondary indexes (FerretDB's
/// SQLite backend pushes down only `_id` equality) answers without scanning every chunk.
/// The one exception: before writing an id, and on replacing a file, what is under the id
/// is deleted by `files_id` (a query the default local server answers from an index).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_our_files_touch_their_chunks_by_id_only() {
    let (db, store, commands) = monitored_gridfs_store(1000).await;

    let data = data();
    store.put(Bucket::Videos, "keyed", meta(), chunks(&data), 1 << 20).await.unwrap();
    store.put(Bucket::Videos, "keyed", meta(), chunks(&data[..4500]), 1 << 20).await.unwrap();
    assert_eq!(read_all(store, "keyed", 1500..3500).await, &data[1500..3500]);
    tokio::task::spawn_blocking(move || {
        let mut reader = store.open_sync(Bucket::Videos, "keyed").unwrap();
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        assert_eq!(all, &data[..4500]);
        let mut sink = store.create_sync(Bucket::Mp3s, "mp3", meta()).unwrap();
        sink.write_all(&data).unwrap();
        sink.overwrite(10, b"TAG").unwrap();
        sink.commit().unwrap();
    })
    .await
    .unwrap();
    store.delete(Bucket::Videos, "keyed").await.unwrap();
    store.delete(Bucket::Mp3s, "mp3").await.unwrap();
    assert_eq!(chunk_count(&db, Bucket::Videos).await + chunk_count(&db, Bucket::Mp3s).await, 0, "chunks left behind");

    let filters = chunk_filters(&commands.lock().unwrap());
    assert!(filters.len() > 20, "the chunk commands were not seen: {filters:?}");
    let by_name =
        |filter: &mongodb::bson::Document| filter.len() == 1 && ["keyed", "mp3"].contains(&filter.get_str("files_id").unwrap_or(""));
    for filter in &filters {
        let by_id = filter.len() == 1 && filter.get_object_id("_id").is_ok();
        assert!(by_id || by_name(filter), "a chunk query not by _id: {filter}");
    }
    assert_eq!(filters.iter().filter(|f| by_name(f)).count(), 3, "deletes under the id: before each new id, on replacing");
    drop_db(db).await;
}

/// A store on a fresh database whose client records every command it starts.
async fn monitored_gridfs_store(
    chunk_size: u32,
) -> (mongodb::Database, &'static GridFsBlobStore, std::sync::Arc<std::sync::Mutex<Vec<mongodb::bson::Document>>>) {
    use mongodb::event::EventHandler;
    use mongodb::event::command::CommandEvent;
    let commands = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut options = mongodb::options::ClientOptions::parse(services::url("MP3CONVERT_MONGODB_URL")).await.unwrap();
    let seen = commands.clone();
    options.command_event_handler = Some(EventHandler::callback(move |event: CommandEvent| {
        if let CommandEvent::Started(started) = event {
            seen.lock().unwrap().push(started.command);
        }
    }));
    let db = mongodb::Client::with_options(options).unwrap().database(&services::unique("mp3convert_test"));
    let store = GridFsBlobStore::open(db.clone()).await.unwrap().with_chunk_size(chunk_size);
    commands.lock().unwrap().clear();
    (db, Box::leak(Box::new(store)), commands)
}

/// How many chunk documents the `update` commands seen so far rewrite.
fn chunk_updates(commands: &[mongodb::bson::Document]) -> usize {
    let is_chunk_update = |c: &&mongodb::bson::Document| c.get_str("update").is_ok_and(|t| t.ends_with(".chunks"));
    commands.iter().filter(is_chunk_update).map(|c| c.get_array("updates").unwrap().len()).sum()
}

/// A new id's chunks go under the id as they are written, so committing it rewrites none of
/// them (a server without partial updates pays a whole chunk per rewrite); replacing a file
/// writes under a temporary id and re-points each chunk on commit, so the earlier file stays
/// readable until then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_a_new_file_is_committed_without_rewriting_its_chunks() {
    let (db, store, commands) = monitored_gridfs_store(1000).await;
    let data = data();
    store.put(Bucket::Videos, "fresh", meta(), chunks(&data), 1 << 20).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut sink = store.create_sync(Bucket::Mp3s, "fresh-mp3", meta()).unwrap();
        sink.write_all(&(0..3000u32).map(|i| i as u8).collect::<Vec<u8>>()).unwrap();
        sink.commit().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(chunk_updates(&commands.lock().unwrap()), 0, "chunks rewritten on commit");
    assert_eq!(read_all(store, "fresh", 0..u64::MAX).await, data);
    // the chunks' `_id`s tell when they were written (what the sweep goes by)
    let chunk =
        db.collection::<mongodb::bson::Document>("videos.chunks").find_one(mongodb::bson::doc! { "files_id": "fresh" }).await.unwrap();
    let written = chunk.unwrap().get_object_id("_id").unwrap().timestamp();
    let age = mongodb::bson::DateTime::now().timestamp_millis() - written.timestamp_millis();
    assert!((0..120_000).contains(&age), "chunk _id time {written} is not now");

    store.put(Bucket::Videos, "fresh", meta(), chunks(&data[..2500]), 1 << 20).await.unwrap();
    assert_eq!(chunk_updates(&commands.lock().unwrap()), 3, "each chunk of the replacement re-pointed once");
    assert_eq!(read_all(store, "fresh", 0..u64::MAX).await, &data[..2500]);
    assert_eq!(chunk_count(&db, Bucket::Videos).await, 3);
    drop_db(db).await;
}

/// Chunks that an attempt cut short (a killed process) left under the id, with no files
/// document: the next write of the id replaces them, whether they include chunk 0 or not,
/// and whether it writes under the id (no file) or re-points (a file exists).
#[tokio::test]
async fn gridfs_a_write_replaces_what_an_attempt_cut_short_left_under_the_id() {
    use mongodb::bson::{Binary, doc, oid::ObjectId, spec::BinarySubtype};
    let (db, store) = gridfs_store(1000).await;
    let chunks_coll = db.collection::<mongodb::bson::Document>("videos.chunks");
    let stale = |id: &str, n: i32| {
        doc! { "_id": ObjectId::new(), "files_id": id, "n": n, "data": Binary { subtype: BinarySubtype::Generic, bytes: vec![9; 1000] } }
    };
    let data = data();
    for (id, left_over) in [("cut-with-0", vec![0, 1, 2]), ("cut-without-0", vec![2, 5, 12])] {
        chunks_coll.insert_many(left_over.iter().map(|n| stale(id, *n))).await.unwrap();
        store.put(Bucket::Videos, id, meta(), chunks(&data), 1 << 20).await.unwrap();
        assert_eq!(read_all(store, id, 0..u64::MAX).await, data, "{id}");
        assert_eq!(chunks_coll.count_documents(doc! { "files_id": id }).await.unwrap(), 10, "{id}: stale chunks left");
    }
    // A file exists and more was left under its id: the replacement re-points over it.
    chunks_coll.insert_many([stale("cut-with-0", 11), stale("cut-with-0", 12)]).await.unwrap();
    store.put(Bucket::Videos, "cut-with-0", meta(), chunks(&data[..5500]), 1 << 20).await.unwrap();
    assert_eq!(read_all(store, "cut-with-0", 0..u64::MAX).await, &data[..5500]);
    assert_eq!(chunks_coll.count_documents(doc! { "files_id": "cut-with-0" }).await.unwrap(), 6);
    drop_db(db).await;
}

/// How many `find` commands went to a `*.chunks` collection.
fn chunk_finds(commands: &[mongodb::bson::Document]) -> usize {
    commands.iter().filter(|c| c.get_str("find").is_ok_and(|t| t.ends_with(".chunks"))).count()
}

/// A demuxer's way through an MP4 whose index is at the end: the start, the end, the start
/// again, then forward with small steps back (interleaved samples). The blocking reader
/// fetches each chunk once: a chunk fetched again costs a MongoDB-compatible server as much
/// as the first time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_the_blocking_reader_fetches_each_chunk_once() {
    let (db, store, commands) = monitored_gridfs_store(1000).await;
    let data = data();
    store.put(Bucket::Videos, "film", meta(), chunks(&data), 1 << 20).await.unwrap();
    commands.lock().unwrap().clear();
    let read = tokio::task::spawn_blocking(move || {
        let mut reader = store.open_sync(Bucket::Videos, "film").unwrap();
        let mut at = |pos: u64, len: usize| {
            reader.seek(SeekFrom::Start(pos)).unwrap();
            let mut buf = vec![0; len];
            reader.read_exact(&mut buf).unwrap();
            (pos, buf)
        };
        let mut reads = vec![at(0, 100), at(9500, 500), at(20, 50), at(9990, 10), at(100, 900)];
        for pos in (1000..9300).step_by(700) {
            reads.push(at(pos, 700));
            reads.push(at(pos - 150, 100));
        }
        reads
    })
    .await
    .unwrap();
    for (pos, buf) in read {
        assert_eq!(buf, &data[pos as usize..pos as usize + buf.len()], "bytes read at {pos}");
    }
    assert_eq!(chunk_finds(&commands.lock().unwrap()), 10, "chunk fetches for a file of 10 chunks");
    drop_db(db).await;
}

/// The converter patches the MP3's first bytes (the LAME tag) when it is done: that chunk is
/// still held, so the patch neither reads nor rewrites a stored chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gridfs_the_sink_patches_its_first_chunk_before_storing_it() {
    let (db, store, commands) = monitored_gridfs_store(1000).await;
    let mut expected = data();
    tokio::task::spawn_blocking({
        let data = expected.clone();
        move || {
            let mut sink = store.create_sync(Bucket::Mp3s, "tagged", meta()).unwrap();
            sink.write_all(&data).unwrap();
            sink.overwrite(10, b"LAME-TAG").unwrap();
            sink.commit().unwrap();
        }
    })
    .await
    .unwrap();
    expected[10..18].copy_from_slice(b"LAME-TAG");
    let commands = commands.lock().unwrap().clone();
    assert_eq!((chunk_finds(&commands), chunk_updates(&commands)), (0, 0), "chunks read or rewritten to patch chunk 0");
    let stored: Vec<Bytes> = store.read(Bucket::Mp3s, "tagged", 0..u64::MAX).await.unwrap().try_collect().await.unwrap();
    assert_eq!(stored.concat(), expected);
    drop_db(db).await;
}
