// The mp3convert web page. It uses the public JSON API only (GET /api/v1/openapi.json
// describes it): POST /api/v1/users and /api/v1/tokens to sign up and in, POST
// /api/v1/videos to upload, GET /api/v1/jobs and /api/v1/jobs/{id}/events to follow the
// conversions, a share link to download, and DELETE to remove files.
"use strict";

const $ = (id) => document.getElementById(id);

// What an error code means, in plain words. Anything else shows the server's message.
const MESSAGES = {
  invalid_credentials: "That email and password do not match an account.",
  email_taken: "There is already an account with this email. Sign in instead.",
  invalid_email: "That email address does not look right.",
  invalid_password: "The password must be at least 8 characters long.",
  signup_closed: "This server does not take new accounts.",
  too_many_attempts: "Too many attempts. Wait a minute, then try again.",
  too_many_signups: "Too many new accounts from here. Wait a while, then try again.",
  missing_token: "Please sign in.",
  invalid_token: "Your session has ended. Please sign in again.",
  token_expired: "Your session has ended. Please sign in again.",
  too_large: "This file is larger than the server accepts.",
  quota_exceeded: "This file does not fit in your storage. Delete some conversions first.",
  unsupported_media_type: "This file does not look like a video or audio file.",
  too_many_jobs: "You have as many conversions running as allowed. Wait until one has finished.",
  unavailable: "The service is having trouble right now. Please try again in a minute.",
  internal: "Something went wrong on the server. Please try again.",
  no_audio_track: "This video has no sound to convert.",
  unsupported_codec: "The sound in this file is in a format we cannot read yet.",
  unsupported_format: "This kind of file is not supported yet.",
  corrupt_input: "This file is damaged or incomplete.",
  too_long: "This recording is longer than the server converts.",
  conversion_timeout: "The conversion took too long and was stopped.",
  video_not_found: "The video was deleted before it was converted.",
  not_found: "This file no longer exists.",
};

const PHRASES = { queued: "Waiting", processing: "Converting", succeeded: "Ready", failed: "Failed" };

let token = sessionStorage.getItem("mp3convert.token");
const jobs = new Map(); // job_id -> the job as last seen
const watching = new Set(); // job_ids whose event stream is open
const deleted = new Set(); // job_ids whose files are deleted

function explain(error) {
  const known = MESSAGES[error && error.code];
  if (known) return known;
  return (error && error.message) || "Something went wrong. Please try again.";
}

function showError(text) {
  $("error").textContent = text || "";
  $("error").hidden = !text;
}

// The error of a failed response, in plain words (signing out when the token has ended).
async function failure(response) {
  let error = {};
  try {
    error = (await response.json()).error || {};
  } catch (_) {
    error = { message: `The server answered ${response.status}.` };
  }
  if (response.status === 401 && token) signOut();
  return explain(error);
}

async function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (_) {
    throw new Error("The server cannot be reached. Check your connection and try again.");
  }
  if (!response.ok) throw new Error(await failure(response));
  return response;
}

// --- account ---

function credentials() {
  return { email: $("email").value.trim(), password: $("password").value };
}

async function signIn() {
  const answer = await (await api("POST", "/api/v1/tokens", credentials())).json();
  token = answer.access_token;
  sessionStorage.setItem("mp3convert.token", token);
  sessionStorage.setItem("mp3convert.email", credentials().email);
  $("password").value = "";
  await show();
}

async function signUp() {
  await api("POST", "/api/v1/users", credentials());
  await signIn();
}

function signOut() {
  token = null;
  sessionStorage.removeItem("mp3convert.token");
  jobs.clear();
  $("jobs").tBodies[0].replaceChildren();
  show();
}

// Shows the page for a signed-in user, or the sign-in form.
async function show() {
  const signedIn = Boolean(token);
  $("account").hidden = signedIn;
  $("convert").hidden = !signedIn;
  $("jobs-section").hidden = !signedIn;
  $("whoami").hidden = !signedIn;
  $("who").textContent = sessionStorage.getItem("mp3convert.email") || "";
  if (signedIn) await loadJobs();
}

// --- upload ---

function upload(file) {
  showError("");
  const bar = $("upload-progress");
  $("upload-label").textContent = `Uploading ${file.name}`;
  bar.value = 0;
  $("upload").hidden = false;
  const query = new URLSearchParams({ filename: file.name, preset: $("preset").value });
  const type = /^(video|audio)\//.test(file.type) ? file.type : "application/octet-stream";
  const request = new XMLHttpRequest();
  request.open("POST", `/api/v1/videos?${query}`);
  request.setRequestHeader("Authorization", `Bearer ${token}`);
  request.setRequestHeader("content-type", type);
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) bar.value = event.loaded / event.total;
  };
  request.onload = () => {
    $("upload").hidden = true;
    let answer = {};
    try {
      answer = JSON.parse(request.responseText);
    } catch (_) {}
    if (request.status === 202) {
      const now = new Date().toISOString();
      const job = { job_id: answer.job_id, video_id: answer.video_id, filename: file.name, status: answer.status, progress: 0, created_at: now };
      render(job, true);
      watch(job.job_id);
    } else {
      if (request.status === 401) signOut();
      showError(explain(answer.error));
    }
  };
  request.onerror = () => {
    $("upload").hidden = true;
    showError("The upload broke off. Check your connection and try again.");
  };
  request.send(file);
}

// --- jobs ---

async function loadJobs() {
  try {
    const page = await (await api("GET", "/api/v1/jobs?limit=50")).json();
    for (const job of page.jobs.slice().reverse()) render(job, true);
    for (const job of page.jobs) {
      if (job.status === "queued" || job.status === "processing") watch(job.job_id);
      else if (job.status === "succeeded") checkStillThere(job);
    }
  } catch (error) {
    showError(error.message);
  }
}

// A finished job's MP3 may have been deleted (here, or by the server's retention).
async function checkStillThere(job) {
  const response = await fetch(`/api/v1/mp3s/${job.mp3_id}`, { method: "HEAD", headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 404) {
    deleted.add(job.job_id);
    render(job);
  }
}

// Follows a job's server-sent events until it ends, opening the stream again if it breaks.
async function watch(jobId) {
  if (watching.has(jobId)) return;
  watching.add(jobId);
  try {
    for (let attempt = 0; attempt < 20 && token; attempt++) {
      try {
        await readEvents(jobId);
      } catch (error) {
        if (error.fatal) throw error;
      }
      const job = jobs.get(jobId);
      if (!job || job.status === "succeeded" || job.status === "failed") return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } catch (error) {
    showError(error.message);
  } finally {
    watching.delete(jobId);
  }
}

async function readEvents(jobId) {
  const response = await fetch(`/api/v1/jobs/${jobId}/events`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    const error = new Error(await failure(response));
    error.fatal = response.status < 500;
    throw error;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = message
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data) render(JSON.parse(data));
    }
  }
}

// Draws `job` in the list (a new one at the top when `top`).
function render(job, top) {
  jobs.set(job.job_id, { ...jobs.get(job.job_id), ...job });
  job = jobs.get(job.job_id);
  const body = $("jobs").tBodies[0];
  let row = body.querySelector(`tr[data-job-id="${job.job_id}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.jobId = job.job_id;
    row.innerHTML = '<td class="file"></td><td class="status"></td><td><progress max="1" value="0"></progress></td><td class="actions"></td>';
    if (top) body.prepend(row);
    else body.append(row);
  }
  const gone = deleted.has(job.job_id);
  row.dataset.status = gone ? "deleted" : job.status;
  row.querySelector(".file").textContent = job.filename;
  const status = row.querySelector(".status");
  status.className = `status ${row.dataset.status}`;
  if (gone) status.textContent = "Deleted";
  else if (job.status === "failed") status.textContent = `Failed: ${explain(job.error)}`;
  else if (job.status === "processing") status.textContent = `${PHRASES.processing} ${Math.floor(job.progress * 100)}%`;
  else status.textContent = PHRASES[job.status] || job.status;
  const bar = row.querySelector("progress");
  bar.value = job.status === "succeeded" ? 1 : job.progress || 0;
  bar.hidden = gone || job.status === "failed";

  const actions = row.querySelector(".actions");
  actions.replaceChildren();
  if (job.status === "succeeded" && job.mp3_id && !gone) {
    actions.append(button("Download", "download", () => download(job)));
  }
  if (!gone && (job.status === "succeeded" || job.status === "failed")) {
    actions.append(button("Delete", "delete danger", () => remove(job)));
  }
  $("no-jobs").hidden = jobs.size > 0;
}

function button(text, className, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = className;
  element.textContent = text;
  element.addEventListener("click", async () => {
    element.disabled = true;
    showError("");
    try {
      await onClick();
    } catch (error) {
      showError(error.message);
    } finally {
      element.disabled = false;
    }
  });
  return element;
}

// Downloads through a short share link: the browser streams the file to disk itself.
async function download(job) {
  const link = await (await api("POST", `/api/v1/mp3s/${job.mp3_id}/links`, { expires_in: 300 })).json();
  const anchor = document.createElement("a");
  anchor.href = link.url;
  anchor.download = "";
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
}

// Deletes the job's MP3 and video (one already gone is no error).
async function remove(job) {
  const paths = [];
  if (job.mp3_id) paths.push(`/api/v1/mp3s/${job.mp3_id}`);
  paths.push(`/api/v1/videos/${job.video_id}`);
  for (const path of paths) {
    try {
      await api("DELETE", path);
    } catch (error) {
      if (error.message !== MESSAGES.not_found) throw error;
    }
  }
  deleted.add(job.job_id);
  render(job);
}

// --- wiring ---

function run(action) {
  return async (event) => {
    if (event) event.preventDefault();
    showError("");
    try {
      await action();
    } catch (error) {
      showError(error.message);
    }
  };
}

$("account-form").addEventListener("submit", run(signIn));
$("sign-up").addEventListener("click", run(() => {
  if (!$("account-form").reportValidity()) return Promise.resolve();
  return signUp();
}));
$("sign-out").addEventListener("click", signOut);
$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file) upload(file);
  $("file").value = "";
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) upload(file);
});
show();
