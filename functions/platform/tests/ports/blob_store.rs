use std::io::{Read, Seek, SeekFrom, Write};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use platform::blob_store::fs::FsBlobStore;
use platform::blob_store::{BlobError, BlobMeta, BlobStore, Bucket, IncomingStream};

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

#[tokio::test]
async fn fs_open_clears_unfinished_writes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp/leftover"), b"half a video").unwrap();
    FsBlobStore::open(dir.path()).unwrap();
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}
