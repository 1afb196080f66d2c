//! Per-user limits on uploads (README "Limits"): bytes kept (`MP3CONVERT_QUOTA_BYTES`,
//! videos and MP3s together) and jobs queued or processing (`MP3CONVERT_MAX_QUEUED_JOBS`).
//! Zero means no limit.
//!
//! Both are checked before the video is stored, and the stored video is cut off at what
//! the quota leaves. Uploads still being received count as jobs here, so concurrent uploads
//! of one user to one instance cannot all slip past the job limit; bytes are counted once
//! stored, so concurrent uploads may together pass the quota by what each was allowed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use platform::blob_store::BlobError;
use platform::http::AppError;

use crate::UploadState;
use crate::incoming::store_error;

/// What a client refused for too many jobs is told to wait: jobs take seconds to minutes.
const JOBS_RETRY_AFTER_SECS: u64 = 30;

/// Uploads being received, per owner.
#[derive(Clone, Default)]
pub struct Pending(Arc<Mutex<HashMap<String, u64>>>);

/// One admitted upload: how much of it may be stored. Holds its place among the owner's
/// pending uploads until dropped.
pub struct Admitted {
    pub max_bytes: u64,
    /// Whether `max_bytes` is what the quota leaves (rather than the upload size limit).
    by_quota: bool,
    quota: u64,
    _place: Place,
}

struct Place {
    pending: Pending,
    owner_id: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut pending = self.pending.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = pending.get_mut(&self.owner_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                pending.remove(&self.owner_id);
            }
        }
    }
}

impl Pending {
    /// Takes a place for `owner_id`; returns it with how many places the owner had before.
    fn enter(&self, owner_id: &str) -> (Place, u64) {
        let mut pending = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = pending.entry(owner_id.to_owned()).or_default();
        let before = *n;
        *n += 1;
        (Place { pending: self.clone(), owner_id: owner_id.to_owned() }, before)
    }
}

/// Admits an upload of `owner_id` or refuses it: 429 `too_many_jobs` with the job limit
/// reached, 413 `quota_exceeded` with nothing left of the quota. Stores nothing.
pub async fn admit(state: &UploadState, owner_id: &str) -> Result<Admitted, AppError> {
    let (place, pending) = state.pending.enter(owner_id);
    if state.max_queued_jobs > 0 {
        let active = state.jobs.count_active(owner_id).await.map_err(AppError::unavailable)?;
        if active.saturating_add(pending) >= state.max_queued_jobs {
            return Err(AppError::too_many_requests(
                "too_many_jobs",
                format!("you have {} jobs queued or converting, the most allowed; try again when one has finished", state.max_queued_jobs),
                JOBS_RETRY_AFTER_SECS,
            ));
        }
    }
    let mut admitted = Admitted { max_bytes: state.max_upload_bytes, by_quota: false, quota: state.quota_bytes, _place: place };
    if state.quota_bytes > 0 {
        let used = state.blobs.usage(owner_id).await.map_err(AppError::unavailable)?;
        let left = state.quota_bytes.saturating_sub(used);
        if left == 0 {
            return Err(quota_exceeded(state.quota_bytes));
        }
        if left < admitted.max_bytes {
            (admitted.max_bytes, admitted.by_quota) = (left, true);
        }
    }
    Ok(admitted)
}

impl Admitted {
    /// The HTTP answer for a failed store of this upload: past the quota is not past the
    /// size limit.
    pub fn store_error(&self, e: BlobError) -> AppError {
        match e {
            BlobError::TooLarge { .. } if self.by_quota => quota_exceeded(self.quota),
            e => store_error(e),
        }
    }
}

fn quota_exceeded(quota: u64) -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "quota_exceeded",
        format!("this upload does not fit in your storage quota of {quota} bytes; delete videos or MP3s first"),
    )
}
