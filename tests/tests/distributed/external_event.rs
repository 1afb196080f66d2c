//! Another system triggers a conversion (contract §3–§5): the video is already in GridFS
//! (written by the MongoDB driver's own GridFS), and a `mp3convert.video.uploaded` event is
//! published straight onto the Broker's exchange in binary mode with unprefixed headers and
//! no `job_id`.

use std::time::Duration;

use futures_util::{AsyncReadExt, AsyncWriteExt};
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use mongodb::bson::{Bson, doc};
use mongodb::options::GridFsBucketOptions;
use platform::model::VideoUploaded;
use serde_json::json;
use tests::cluster::{Cluster, ClusterUser, service_url};
use tests::fixtures;

const SOURCE: &str = "//billing.example.com/imports";

/// Writes `file` into the `videos` bucket as another system would, with the driver's GridFS.
async fn put_video(cluster: &Cluster, user: &ClusterUser, video_id: &str, file: &std::path::Path) {
    put_video_as(cluster, user, Bson::String(video_id.into()), file).await;
}

/// The same with any `_id`: pymongo's and the drivers' GridFS default to an `ObjectId`.
async fn put_video_as(cluster: &Cluster, user: &ClusterUser, id: Bson, file: &std::path::Path) {
    let bucket = cluster.mongo.gridfs_bucket(GridFsBucketOptions::builder().bucket_name("videos".to_owned()).build());
    let metadata = doc! { "owner_id": &user.id, "content_type": "video/mp4" };
    let mut upload = bucket.open_upload_stream("import.mp4").id(id).metadata(metadata).await.unwrap();
    upload.write_all(&std::fs::read(file).unwrap()).await.unwrap();
    upload.close().await.unwrap();
}

/// Publishes the event onto the Broker's exchange: binary mode, unprefixed headers (§4).
async fn publish(exchange: &str, event_id: &str, data: &VideoUploaded) {
    let connection = Connection::connect(&service_url("MP3CONVERT_AMQP_URL"), ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut headers = FieldTable::default();
    for (name, value) in [
        ("specversion", "1.0"),
        ("id", event_id),
        ("source", SOURCE),
        ("type", "mp3convert.video.uploaded"),
        ("subject", data.video_id.as_str()),
        ("time", "2026-11-24T10:00:00Z"),
    ] {
        headers.insert(name.into(), AMQPValue::LongString(value.into()));
    }
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_message_id(event_id.into())
        .with_headers(headers);
    let body = serde_json::to_vec(data).unwrap();
    let confirm = channel.basic_publish(exchange, "", BasicPublishOptions::default(), &body, properties).await.unwrap();
    confirm.await.unwrap();
    connection.close(200, "published").await.unwrap();
}

/// Publishes `user`'s `video.uploaded` for `video_id` and waits until the converter has made
/// its job (derived from the event's identity, which `user` sees) and finished it: the job id
/// and the finished job.
async fn announce(cluster: &Cluster, user: &ClusterUser, video_id: &str) -> (String, serde_json::Value) {
    let event_id = platform::new_id();
    let data = event_data(user, video_id);
    publish(&cluster.exchange, &event_id, &data).await;
    let job_id = data.job_id_or_derived(SOURCE, &event_id);
    tests::eventually("the job of the external event", Duration::from_secs(60), || async {
        let response =
            cluster.client.get(format!("{}/api/v1/jobs/{job_id}", cluster.upload.url)).bearer_auth(&user.token).send().await.unwrap();
        (response.status() == 200).then_some(())
    })
    .await;
    let job = cluster.finished_job(user, &job_id, Duration::from_secs(120)).await;
    (job_id, job)
}

fn event_data(user: &ClusterUser, video_id: &str) -> VideoUploaded {
    VideoUploaded {
        job_id: None,
        video_id: video_id.to_owned(),
        owner_id: user.id.clone(),
        filename: "import.mp4".into(),
        preset: "v4".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_onto_the_exchange_converts_a_video_already_in_gridfs() {
    let cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "import.mp4", 2.0);
    let user = cluster.user().await;
    let video_id = platform::new_id();
    put_video(&cluster, &user, &video_id, &video).await;

    // The converter makes the job from the event's identity; the owner sees it.
    let (job_id, job) = announce(&cluster, &user, &video_id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["preset"], "v4");

    // A plain GridFS reader (the driver's) reads the MP3 and its metadata.
    let mp3_id = job["mp3_id"].as_str().unwrap();
    let bucket = cluster.mongo.gridfs_bucket(GridFsBucketOptions::builder().bucket_name("mp3s".to_owned()).build());
    let mut download = bucket.open_download_stream(Bson::String(mp3_id.into())).await.unwrap();
    let mut bytes = Vec::new();
    download.read_to_end(&mut bytes).await.unwrap();
    let out = dir.path().join("import.mp3");
    std::fs::write(&out, &bytes).unwrap();
    fixtures::assert_mp3(&out, fixtures::audio_duration(&video));
    let file = bucket.find_one(doc! { "_id": mp3_id }).await.unwrap().expect("the MP3's files document");
    let metadata = file.metadata.expect("metadata");
    assert_eq!(
        json!({"owner": metadata.get_str("owner_id").unwrap(), "video": metadata.get_str("video_id").unwrap(), "job": metadata.get_str("job_id").unwrap()}),
        json!({"owner": user.id, "video": video_id, "job": job_id})
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_delivered_three_times_at_once_yields_one_mp3() {
    let cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "import.mp4", 4.0);
    let user = cluster.user().await;
    let video_id = platform::new_id();
    put_video(&cluster, &user, &video_id, &video).await;

    // At-least-once delivery: the same event (same source + id), three times, concurrently
    // (the convert Trigger's parallelism lets the broker deliver them side by side).
    let event_id = platform::new_id();
    let data = event_data(&user, &video_id);
    tokio::join!(
        publish(&cluster.exchange, &event_id, &data),
        publish(&cluster.exchange, &event_id, &data),
        publish(&cluster.exchange, &event_id, &data)
    );

    // Every delivery is answered 2xx (with the same reply), and there is one MP3.
    tests::eventually("three deliveries answered", Duration::from_secs(120), || async {
        (cluster.metric(&cluster.convert, "mp3convert_events_answered_total").await >= 3).then_some(())
    })
    .await;
    let job_id = data.job_id_or_derived(SOURCE, &event_id);
    let job = cluster.job(&user, &job_id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(cluster.gridfs_files("mp3s").await, 1);
    assert_eq!(cluster.metric(&cluster.convert, "mp3convert_jobs_succeeded_total").await, 1, "converted once");
    assert_eq!(cluster.metric(&cluster.convert, "mp3convert_events_received_total").await, 3);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_with_an_objectid_from_a_plain_gridfs_writer_converts() {
    let cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "import.mp4", 2.0);
    let user = cluster.user().await;
    let oid = mongodb::bson::oid::ObjectId::new();
    put_video_as(&cluster, &user, Bson::ObjectId(oid), &video).await;

    // The event names the video by its id's 24 hex digits, as pymongo's str(ObjectId) gives.
    let (_, job) = announce(&cluster, &user, &oid.to_hex()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let mp3 = cluster
        .client
        .get(format!("{}/api/v1/mp3s/{}", cluster.download.url, job["mp3_id"].as_str().unwrap()))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(mp3.status(), 200);
    let out = dir.path().join("import.mp3");
    std::fs::write(&out, mp3.bytes().await.unwrap()).unwrap();
    fixtures::assert_mp3(&out, fixtures::audio_duration(&video));
    cluster.stop().await;
}

/// Found by reading the code: any event naming user A's video with user B as `owner_id` made
/// an MP3 owned by B. Now the job fails `owner_mismatch` and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_naming_another_users_video_makes_no_mp3_for_the_forger() {
    let cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "import.mp4", 1.0);
    let (victim, forger) = (cluster.user().await, cluster.user().await);
    let video_id = platform::new_id();
    put_video(&cluster, &victim, &video_id, &video).await;

    let (_, job) = announce(&cluster, &forger, &video_id).await;
    assert_eq!((job["status"].as_str(), job["error"]["code"].as_str()), (Some("failed"), Some("owner_mismatch")), "{job}");
    assert_eq!(cluster.gridfs_files("mp3s").await, 0, "no MP3 was stored");
    cluster.stop().await;
}
