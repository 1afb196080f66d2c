//! The convert function: runs a conversion job through the media engine, from the video in
//! the blob store to the MP3 beside it, and reports the outcome as a CloudEvent.
//!
//! - [`run`]: one job under its claim (fenced: a run that lost the job records nothing and
//!   deletes the MP3 it stored under its own id); the MP3 becomes visible only when complete.
//! - [`worker`]: the bounded worker pool of the embedded platform, fed by the job store.
//! - [`events`]: `POST /`, the CloudEvents entry point a Knative Trigger delivers to.

pub mod events;
pub mod run;
pub mod worker;

pub use events::router;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use media::isolate::Sandbox;
use platform::blob_store::BlobStore;
use platform::event_bus::EventBus;
use platform::event_bus::signature::EventKey;
use platform::job_store::JobStore;

#[derive(Clone)]
pub struct ConvertState {
    pub blobs: Arc<dyn BlobStore>,
    pub jobs: Arc<dyn JobStore>,
    pub events: Arc<dyn EventBus>,
    /// CloudEvents `source` of the events this function emits.
    pub event_source: String,
    /// Signs the reply events and checks the signature of a signed delivery
    /// (`platform::event_bus::signature`); `None` in the embedded platform and in dev mode.
    pub event_key: Option<EventKey>,
    /// How long a claimed job stays ours without a sign of life (progress renews it); a
    /// converter that dies loses its job to the next delivery once this has passed.
    pub lease: Duration,
    /// The worker process each conversion runs in (`None`: in this process, for tests of
    /// the job logic only; a crafted input can then take the process down).
    pub sandbox: Option<Sandbox>,
    /// The longest MP3 a conversion may produce.
    pub max_duration: Duration,
    /// LAME instances per conversion (`MP3CONVERT_ENCODE_THREADS`; 0: one per core).
    pub encode_threads: usize,
    /// Cancelled when the process must stop (the shutdown deadline): running conversions are
    /// cut off and their jobs re-queued.
    pub stopping: CancellationToken,
}
