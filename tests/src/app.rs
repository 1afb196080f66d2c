//! The platform served in-process on `127.0.0.1:0`, with its own data directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use platform::config::Config;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tempfile::TempDir;

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    _dir: TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A user signed up on a [`TestApp`], with a valid token.
pub struct TestUser {
    pub email: String,
    pub password: String,
    pub token: String,
}

impl TestApp {
    /// Starts a platform with default settings (one worker).
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts a platform with extra `MP3CONVERT_*` settings.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let mut map: HashMap<String, String> = HashMap::from([
            ("MP3CONVERT_DATA_DIR".into(), data_dir.display().to_string()),
            ("MP3CONVERT_WORKERS".into(), "1".into()),
            // Conversions run in worker processes of the real binary (this is a test harness).
            ("MP3CONVERT_CONVERTER_EXE".into(), crate::process::binary().display().to_string()),
        ]);
        map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = Config::from_lookup(|name| map.get(name).cloned()).expect("test config");
        let platform = mp3convert::Platform::start(&config).await.expect("platform starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(platform.serve(listener, async move {
            let _ = stop.await;
        }));
        Self { url, client: reqwest::Client::new(), data_dir, _dir: dir, _shutdown: shutdown }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Signs up a fresh user and logs in.
    pub async fn user(&self) -> TestUser {
        let email = format!("{}@example.com", platform::new_id());
        let password = "correct horse battery".to_owned();
        let response = self
            .client
            .post(self.at("/api/v1/users"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("sign-up");
        assert_eq!(response.status(), 201, "sign-up failed: {}", response.text().await.unwrap_or_default());
        let response =
            self.client.post(self.at("/api/v1/tokens")).json(&json!({ "email": email, "password": password })).send().await.expect("token");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("token json");
        let token = body["access_token"].as_str().expect("access_token").to_owned();
        TestUser { email, password, token }
    }

    /// `POST /api/v1/videos` with `file` as a multipart part; returns the raw response.
    pub async fn upload(&self, user: &TestUser, file: &Path) -> reqwest::Response {
        let bytes = std::fs::read(file).expect("fixture");
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("video.mp4").to_owned();
        let form = Form::new().part("file", Part::bytes(bytes).file_name(name).mime_str("video/mp4").expect("mime"));
        self.client.post(self.at("/api/v1/videos")).bearer_auth(&user.token).multipart(form).send().await.expect("upload")
    }

    /// `GET /api/v1/jobs/{id}` as JSON (asserting 200).
    pub async fn job(&self, user: &TestUser, job_id: &str) -> Value {
        let response = self.client.get(self.at(&format!("/api/v1/jobs/{job_id}"))).bearer_auth(&user.token).send().await.expect("job");
        assert_eq!(response.status(), 200);
        response.json().await.expect("job json")
    }

    /// Waits until the job has finished (succeeded or failed) and returns it.
    pub async fn finished_job(&self, user: &TestUser, job_id: &str) -> Value {
        crate::eventually("the job to finish", Duration::from_secs(60), || async {
            let job = self.job(user, job_id).await;
            matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
        })
        .await
    }

    /// Uploads a 1 s video named `clip.mp4`, waits for its MP3 and returns the MP3's id and
    /// the video's audio duration.
    pub async fn converted_mp3(&self, user: &TestUser) -> (String, f64) {
        let dir = tempfile::tempdir().expect("temp dir");
        let video = crate::fixtures::video(dir.path(), "clip.mp4", 1.0);
        let uploaded: Value = self.upload(user, &video).await.json().await.expect("upload json");
        let job = self.finished_job(user, uploaded["job_id"].as_str().expect("job_id")).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        (job["mp3_id"].as_str().expect("mp3_id").to_owned(), crate::fixtures::audio_duration(&video))
    }

    /// Files stored in a bucket's directory (data files, not sidecars).
    pub fn stored_files(&self, bucket: &str) -> usize {
        count_files(&self.data_dir.join("blobs").join(bucket), |name| !name.ends_with(".json"))
    }

    /// Leftovers of unfinished writes.
    pub fn temp_files(&self) -> usize {
        count_files(&self.data_dir.join("blobs").join("tmp"), |_| true)
    }
}

fn count_files(dir: &Path, keep: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).filter(|e| e.file_name().to_str().is_some_and(&keep)).count())
        .unwrap_or(0)
}
