//! The HTTP edge against the real `mp3convert` binary, over raw TCP where the attack needs
//! it (issue 9's HTTP rows): slow and oversized request heads, the connection cap, trickled
//! and endless bodies, shutdown with uploads open, and JSON for every rejection. Limits are
//! made small through the environment so that each test takes seconds, not minutes.

mod bodies;
mod heads;
mod multipart;
mod rejections;
mod shutdown;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use tests::process::Server;
use tokio::io::{AsyncRead, AsyncReadExt};

/// A server of its own, with a fresh data directory.
pub struct Edge {
    pub server: Server,
    pub addr: SocketAddr,
    pub data: PathBuf,
    _dir: TempDir,
}

impl Edge {
    pub fn start(envs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let server = Server::start(&data, envs);
        let addr = server.url.trim_start_matches("http://").parse().expect("host:port");
        Self { server, addr, data, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }

    /// Signs up a user and returns a bearer token.
    pub async fn token(&self) -> String {
        let client = reqwest::Client::new();
        let creds = json!({ "email": format!("{}@example.com", platform::new_id()), "password": "edge-password" });
        let response = client.post(self.url("/api/v1/users")).json(&creds).send().await.unwrap();
        assert_eq!(response.status(), 201);
        let token: Value = client.post(self.url("/api/v1/tokens")).json(&creds).send().await.unwrap().json().await.unwrap();
        token["access_token"].as_str().unwrap().to_owned()
    }

    /// Videos stored (data files, not sidecars), and unfinished writes in `blobs/tmp`.
    pub fn stored(&self) -> (usize, usize) {
        (count(&self.data.join("blobs/videos"), |n| !n.ends_with(".json")), count(&self.data.join("blobs/tmp"), |_| true))
    }

    /// Peak resident memory so far, KiB.
    pub fn peak_kib(&self) -> u64 {
        self.server.memory_kib("VmHWM")
    }
}

fn count(dir: &Path, keep: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).filter(|e| e.file_name().to_str().is_some_and(&keep)).count())
        .unwrap_or(0)
}

/// What came back on a raw connection before it closed (or `limit` passed).
#[derive(Debug)]
pub struct Answer {
    /// Everything read, lossily as text.
    pub raw: String,
    /// When the connection was closed by the server, since the read began.
    pub closed_after: Option<Duration>,
}

impl Answer {
    pub fn status(&self) -> Option<u16> {
        self.raw.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    /// The JSON body's `error.code`.
    pub fn code(&self) -> Option<String> {
        let body = self.raw.split_once("\r\n\r\n")?.1;
        let json: Value = serde_json::from_str(body).ok()?;
        json["error"]["code"].as_str().map(str::to_owned)
    }
}

/// Reads until the server closes the connection, at most for `limit`.
pub async fn read_answer(reader: &mut (impl AsyncRead + Unpin), limit: Duration) -> Answer {
    let start = Instant::now();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let closed_after = loop {
        let Some(left) = limit.checked_sub(start.elapsed()) else { break None };
        match tokio::time::timeout(left, reader.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break Some(start.elapsed()),
            Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
            Err(_) => break None,
        }
    };
    Answer { raw: String::from_utf8_lossy(&raw).into_owned(), closed_after }
}

/// Chunked transfer-encoding framing of one chunk.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"].concat()
}
