//! What the MongoDB adapters share: creating indexes once, and recognising a duplicate key.

use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::{Collection, IndexModel};

/// A BSON date (milliseconds) as a time.
pub(crate) fn to_time(t: DateTime) -> Result<time::OffsetDateTime, time::error::ComponentRange> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.timestamp_millis()) * 1_000_000)
}

/// Whether `e` is a unique index refusing a write (code 11000).
pub(crate) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        _ => false,
    }
}

/// Creates each index that `collection` lacks. Another process creating the same index at
/// the same moment is no error.
pub(crate) async fn ensure_indexes<T: Send + Sync>(collection: &Collection<T>, indexes: Vec<IndexModel>) -> mongodb::error::Result<()> {
    for index in indexes {
        let keys = index.keys.clone();
        if index_exists(collection, &keys).await? {
            continue;
        }
        if let Err(e) = collection.create_index(index).await
            && !index_exists(collection, &keys).await?
        {
            return Err(e);
        }
    }
    Ok(())
}

async fn index_exists<T: Send + Sync>(collection: &Collection<T>, keys: &Document) -> mongodb::error::Result<bool> {
    let indexes: Vec<IndexModel> = match collection.list_indexes().await {
        Ok(cursor) => cursor.try_collect().await?,
        // The collection does not exist yet (NamespaceNotFound).
        Err(e) if matches!(*e.kind, ErrorKind::Command(ref c) if c.code == 26) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(indexes.iter().any(|index| &index.keys == keys))
}
