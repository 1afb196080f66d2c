//! Conversions in a process of their own, so that no input can take the caller down.
//!
//! The caller (a server, the CLI) starts a worker process — its own executable with the
//! `convert-worker` argument, see [`Sandbox::this_binary`] — and talks to it over pipes
//! (`wire`): the worker asks for the source's bytes, the caller answers from its
//! [`MediaSource`]; the worker sends the MP3, the caller writes it to its [`Mp3Sink`]. The
//! worker sees no database, no key, no file: only the bytes of one upload.
//!
//! What the worker cannot get past:
//! - **memory**: `RLIMIT_DATA` keeps it under [`Sandbox::memory_bytes`]; an allocation past
//!   it ends the worker and the conversion with [`MediaError::MemoryLimit`];
//! - **time**: a budget of [`Sandbox::timeout`] plus 2 s per MiB of input plus 1 s per 64 KiB
//!   of MP3 written, and no more than `min(timeout, 30 s)` without a sign of life; past either
//!   it is killed ([`MediaError::TimedOut`]);
//! - **crashes**: a worker that dies without an answer is [`MediaError::Crashed`], its last
//!   words (from stderr) in the message.
//!
//! `worker` is the process's side, `parent` the caller's.

mod parent;
mod wire;
mod worker;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use symphonia::core::io::MediaSource;

use crate::{MediaError, Mp3Sink, Options, Report};

/// The argument that makes a binary a conversion worker (see [`worker_main`]).
pub const WORKER_ARG: &str = "convert-worker";

/// How to start a worker and what it may use.
#[derive(Clone, Debug)]
pub struct Sandbox {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Memory one conversion's process may use.
    pub memory_bytes: u64,
    /// The fixed part of the time budget.
    pub timeout: Duration,
}

impl Sandbox {
    /// The running executable as the worker (it must call [`worker_main`] when started with
    /// [`WORKER_ARG`]).
    pub fn this_binary(memory_bytes: u64, timeout: Duration) -> std::io::Result<Sandbox> {
        Ok(Sandbox::new(std::env::current_exe()?, memory_bytes, timeout))
    }

    /// `program convert-worker` as the worker.
    pub fn new(program: PathBuf, memory_bytes: u64, timeout: Duration) -> Sandbox {
        Sandbox { program, args: vec![WORKER_ARG.into()], memory_bytes, timeout }
    }
}

/// [`crate::convert`] in a worker process. Blocking, like `convert`; `cancel` kills the worker.
pub fn convert(
    sandbox: &Sandbox,
    source: Box<dyn MediaSource>,
    sink: &mut dyn Mp3Sink,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &AtomicBool,
) -> Result<Report, MediaError> {
    parent::convert(sandbox, source, sink, options, progress, cancel)
}

/// The worker process's `main` (when started with [`WORKER_ARG`]): one conversion over
/// stdin/stdout, then the exit code to return.
pub fn worker_main() -> std::process::ExitCode {
    std::process::ExitCode::from(worker::run())
}
