//! `mp3convert upload FILE --server URL`: a server's API from the command line. It uploads the
//! file (`POST /api/v1/videos`, the raw body), follows the job's events
//! (`GET /api/v1/jobs/{id}/events`) and downloads the MP3 (`GET /api/v1/mp3s/{id}`), with a
//! progress bar for the upload and one for the conversion when stderr is a terminal. The token
//! and the server are checked first (`GET /api/v1/jobs?limit=1`), before a long upload.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use indicatif::ProgressBar;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::progress::bar;

/// What to upload, where, and where the MP3 goes.
pub struct Upload {
    pub file: PathBuf,
    pub server: String,
    pub token: String,
    pub preset: Option<String>,
    /// Default: the file's name with `.mp3`, in the current directory.
    pub output: Option<PathBuf>,
}

/// Runs the upload to the end; the error is one line for the user (`code: message` from the
/// server where it gave one).
pub async fn run(upload: Upload) -> Result<PathBuf, String> {
    let server = upload.server.trim_end_matches('/');
    let client = reqwest::Client::new();
    let name = upload.file.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or("the file has no name")?;
    let output = upload.output.clone().unwrap_or_else(|| Path::new(&name).with_extension("mp3"));

    // The token and the server, checked before a long upload.
    let checked = client
        .get(format!("{server}/api/v1/jobs?limit=1"))
        .bearer_auth(&upload.token)
        .send()
        .await
        .map_err(|e| unreachable_server(server, &e))?;
    ok_or_error(checked).await?;

    let file = tokio::fs::File::open(&upload.file).await.map_err(|e| format!("{}: {e}", upload.file.display()))?;
    let size = file.metadata().await.map_err(|e| e.to_string())?.len();
    let sent = bar(size, "uploading  [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}");
    let counted = sent.clone();
    let body = tokio_util::io::ReaderStream::new(file).inspect(move |chunk| {
        if let Ok(chunk) = chunk {
            counted.inc(chunk.len() as u64);
        }
    });
    let mut query = vec![("filename", name.clone())];
    query.extend(upload.preset.clone().map(|p| ("preset", p)));
    let accepted = client
        .post(format!("{server}/api/v1/videos"))
        .query(&query)
        .bearer_auth(&upload.token)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .map_err(|e| unreachable_server(server, &e))?;
    sent.finish_and_clear();
    let job = json_or_error(accepted).await?;
    let job_id = job["job_id"].as_str().ok_or("the server answered without a job_id")?.to_owned();

    let converted = bar(1000, "converting [{bar:30}] {percent:>3}%");
    let job = follow(&client, server, &upload.token, &job_id, &converted).await;
    converted.finish_and_clear();
    let job = job?;
    if job["status"] == "failed" {
        let error = &job["error"];
        return Err(format!("{}: {}", error["code"].as_str().unwrap_or("failed"), error["message"].as_str().unwrap_or_default()));
    }
    let mp3_id = job["mp3_id"].as_str().ok_or("the job succeeded without an mp3_id")?;
    download(&client, server, &upload.token, mp3_id, &output).await?;
    Ok(output)
}

/// Follows the job's event stream until it ends; returns the last job seen.
async fn follow(client: &reqwest::Client, server: &str, token: &str, job_id: &str, bar: &ProgressBar) -> Result<Value, String> {
    let response = client
        .get(format!("{server}/api/v1/jobs/{job_id}/events"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| unreachable_server(server, &e))?;
    let response = ok_or_error(response).await?;
    let mut stream = response.bytes_stream();
    let (mut pending, mut last) = (Vec::new(), Value::Null);
    while let Some(chunk) = stream.next().await {
        pending.extend_from_slice(&chunk.map_err(|e| format!("the job's event stream broke off: {e}"))?);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let Some(data) = std::str::from_utf8(&line).ok().and_then(|l| l.trim_end().strip_prefix("data:")) else { continue };
            if let Ok(job) = serde_json::from_str::<Value>(data.trim()) {
                bar.set_position((job["progress"].as_f64().unwrap_or(0.0) * 1000.0) as u64);
                last = job;
            }
        }
    }
    match last["status"].as_str() {
        Some("succeeded" | "failed") => Ok(last),
        _ => Err(format!("the job's event stream ended before job {job_id} finished")),
    }
}

/// The MP3 into `output`, through a temporary file beside it.
async fn download(client: &reqwest::Client, server: &str, token: &str, mp3_id: &str, output: &Path) -> Result<(), String> {
    let response =
        client.get(format!("{server}/api/v1/mp3s/{mp3_id}")).bearer_auth(token).send().await.map_err(|e| unreachable_server(server, &e))?;
    let response = ok_or_error(response).await?;
    let partial = output.with_extension("mp3.part");
    let mut file = tokio::fs::File::create(&partial).await.map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("the download broke off: {e}"))?;
        file.write_all(&chunk).await.map_err(|e| format!("{}: {e}", partial.display()))?;
    }
    file.sync_all().await.map_err(|e| e.to_string())?;
    tokio::fs::rename(&partial, output).await.map_err(|e| format!("{}: {e}", output.display()))
}

fn unreachable_server(server: &str, error: &reqwest::Error) -> String {
    format!("cannot reach {server}: {error}")
}

async fn ok_or_error(response: reqwest::Response) -> Result<reqwest::Response, String> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let error = &body["error"];
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) => Err(format!("{code}: {message}")),
        _ => Err(format!("the server answered {status}")),
    }
}

async fn json_or_error(response: reqwest::Response) -> Result<Value, String> {
    ok_or_error(response).await?.json().await.map_err(|e| format!("the server's answer is not JSON: {e}"))
}
