//! The parent's side: start the worker, answer its reads from the source, write its MP3 to
//! the sink, and watch it: cancelled, over its time budget or stalled → killed; dead without
//! an answer → the error says how it died.

use std::io::{self, BufReader, BufWriter, Read, SeekFrom, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use symphonia::core::io::MediaSource;

use super::Sandbox;
use super::wire::{self, Start, tag};
use crate::{MediaError, Mp3Sink, Options, Report};

/// Why the watchdog killed the worker.
const KILLED_NOT: u8 = 0;
const KILLED_CANCELLED: u8 = 1;
const KILLED_TIMED_OUT: u8 = 2;

/// What the watchdog watches, shared with the thread that talks to the worker.
struct Watch {
    started: Instant,
    /// Milliseconds since `started` of the worker's last message.
    last_message_ms: AtomicU64,
    mp3_bytes: AtomicU64,
    input_bytes: u64,
    finished: AtomicBool,
    killed: AtomicU8,
}

impl Watch {
    fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

pub fn convert(
    sandbox: &Sandbox,
    mut source: Box<dyn MediaSource>,
    sink: &mut dyn Mp3Sink,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &AtomicBool,
) -> Result<Report, MediaError> {
    let byte_len = source.byte_len();
    let mut child = Command::new(&sandbox.program)
        .args(&sandbox.args)
        // Nothing of the parent's environment (database URLs, keys) reaches the worker.
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| MediaError::Io(io::Error::new(e.kind(), format!("cannot start the converter {}: {e}", sandbox.program.display()))))?;
    let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(MediaError::Io(io::Error::other("the converter's pipes are missing")));
    };
    let child = Arc::new(Mutex::new(child));
    let watch = Arc::new(Watch {
        started: Instant::now(),
        last_message_ms: AtomicU64::new(0),
        mp3_bytes: AtomicU64::new(0),
        input_bytes: byte_len.unwrap_or(0),
        finished: AtomicBool::new(false),
        killed: AtomicU8::new(KILLED_NOT),
    });
    let stderr_tail = thread::spawn(move || tail(stderr));
    let outcome = thread::scope(|scope| {
        let watchdog = scope.spawn(|| watchdog(sandbox, &watch, &child, cancel));
        let start = Start { options: options.clone(), byte_len, seekable: source.is_seekable(), memory_bytes: sandbox.memory_bytes };
        let outcome = serve(stdin, stdout, &start, source.as_mut(), sink, progress, &watch);
        watch.finished.store(true, Ordering::Relaxed);
        let _ = watchdog.join();
        outcome
    });
    // Reaped only now, after the watchdog stopped: it never signals a reused pid.
    let status = {
        let mut child = child.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(outcome, Served::Done(_) | Served::Failed(_)) {
            let _ = child.kill();
        }
        child.wait()
    };
    let stderr = stderr_tail.join().unwrap_or_default();
    match (outcome, watch.killed.load(Ordering::Relaxed)) {
        (_, KILLED_CANCELLED) => Err(MediaError::Cancelled),
        (_, KILLED_TIMED_OUT) => Err(MediaError::TimedOut { budget_secs: budget(sandbox, &watch).as_secs() }),
        (Served::Done(report), _) => Ok(report),
        (Served::Failed(e), _) => Err(e),
        (Served::Parent(e), _) => Err(e),
        (Served::Died, _) => Err(death(status, &stderr, sandbox)),
    }
}

enum Served {
    Done(Report),
    Failed(MediaError),
    /// The source or the sink failed on our side.
    Parent(MediaError),
    /// The worker's output ended without an answer.
    Died,
}

fn serve(
    stdin: ChildStdin,
    stdout: impl Read,
    start: &Start,
    source: &mut dyn MediaSource,
    sink: &mut dyn Mp3Sink,
    progress: &mut dyn FnMut(f32),
    watch: &Watch,
) -> Served {
    let mut to_worker = BufWriter::with_capacity(64 * 1024, stdin);
    let mut from_worker = BufReader::with_capacity(64 * 1024, stdout);
    if wire::write_message(&mut to_worker, tag::START, &start.encode()).and_then(|()| to_worker.flush()).is_err() {
        return Served::Died;
    }
    let mut payload = Vec::new();
    let mut data = Vec::new();
    let mut pos = 0u64;
    loop {
        let message = match wire::read_message(&mut from_worker, &mut payload) {
            Ok(Some(tag)) => tag,
            Ok(None) | Err(_) => return Served::Died,
        };
        watch.last_message_ms.store(watch.elapsed_ms(), Ordering::Relaxed);
        let mut fields = wire::Cursor(&payload);
        match message {
            tag::READ => {
                let (Ok(offset), Ok(len)) = (fields.u64(), fields.u64()) else { return Served::Died };
                let len = (len as usize).min(wire::MAX_PAYLOAD);
                if let Err(e) = read_at(source, &mut pos, offset, len, &mut data) {
                    return Served::Parent(MediaError::Io(e));
                }
                if wire::write_message(&mut to_worker, tag::DATA, &data).and_then(|()| to_worker.flush()).is_err() {
                    return Served::Died;
                }
            }
            tag::WRITE => {
                if let Err(e) = sink.write_all(&payload) {
                    return Served::Parent(MediaError::Io(e));
                }
                watch.mp3_bytes.fetch_add(payload.len() as u64, Ordering::Relaxed);
            }
            tag::OVERWRITE => {
                let Ok(offset) = fields.u64() else { return Served::Died };
                if let Err(e) = sink.overwrite(offset, fields.0) {
                    return Served::Parent(MediaError::Io(e));
                }
            }
            tag::PROGRESS => {
                if let Some(p) = payload.first_chunk::<4>() {
                    progress(f32::from_le_bytes(*p).clamp(0.0, 1.0));
                }
            }
            tag::DONE => {
                return match wire::decode_report(&payload) {
                    Ok(report) => match sink.flush() {
                        Ok(()) => Served::Done(report),
                        Err(e) => Served::Parent(MediaError::Io(e)),
                    },
                    Err(_) => Served::Died,
                };
            }
            tag::ERROR => return wire::decode_error(&payload).map_or(Served::Died, Served::Failed),
            _ => return Served::Died,
        }
    }
}

/// Up to `len` bytes of the source from `offset` (fewer only at its end).
fn read_at(source: &mut dyn MediaSource, pos: &mut u64, offset: u64, len: usize, data: &mut Vec<u8>) -> io::Result<()> {
    if *pos != offset {
        source.seek(SeekFrom::Start(offset))?;
        *pos = offset;
    }
    data.clear();
    data.resize(len, 0);
    let mut filled = 0;
    while filled < len {
        match source.read(&mut data[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    data.truncate(filled);
    *pos += filled as u64;
    Ok(())
}

/// The time a conversion may take so far: the fixed part, plus 2 s per MiB of input, plus 1 s
/// per 64 KiB of MP3 written (so a long conversion that keeps producing audio is not cut off).
fn budget(sandbox: &Sandbox, watch: &Watch) -> Duration {
    let for_input = Duration::from_millis(watch.input_bytes.saturating_mul(2000) >> 20);
    let for_output = Duration::from_millis(watch.mp3_bytes.load(Ordering::Relaxed).saturating_mul(1000) >> 16);
    sandbox.timeout.saturating_add(for_input).saturating_add(for_output)
}

/// No message at all from the worker for this long means it hangs.
fn stall_limit(sandbox: &Sandbox) -> Duration {
    sandbox.timeout.min(Duration::from_secs(30))
}

fn watchdog(sandbox: &Sandbox, watch: &Watch, child: &Mutex<Child>, cancel: &AtomicBool) {
    while !watch.finished.load(Ordering::Relaxed) {
        let silent = Duration::from_millis(watch.elapsed_ms().saturating_sub(watch.last_message_ms.load(Ordering::Relaxed)));
        let reason = if cancel.load(Ordering::Relaxed) {
            KILLED_CANCELLED
        } else if watch.started.elapsed() > budget(sandbox, watch) || silent > stall_limit(sandbox) {
            KILLED_TIMED_OUT
        } else {
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        watch.killed.store(reason, Ordering::Relaxed);
        if let Ok(mut child) = child.lock() {
            let _ = child.kill();
        }
        return;
    }
}

/// The last few KiB the worker wrote to stderr (a panic message, an allocation failure).
fn tail(mut stderr: impl Read) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 8192 {
            kept.drain(..kept.len() - 4096);
        }
    }
    String::from_utf8_lossy(&kept).trim().to_owned()
}

/// How a worker that gave no answer died.
fn death(status: io::Result<ExitStatus>, stderr: &str, sandbox: &Sandbox) -> MediaError {
    use std::os::unix::process::ExitStatusExt;
    let last_line = stderr.lines().last().unwrap_or("").to_owned();
    let out_of_memory = stderr.contains("memory allocation of") || stderr.contains("out of memory");
    match status {
        _ if out_of_memory => MediaError::MemoryLimit { limit_mib: sandbox.memory_bytes >> 20 },
        // SIGKILL that we did not send: the kernel's OOM killer.
        Ok(s) if s.signal() == Some(9) => MediaError::MemoryLimit { limit_mib: sandbox.memory_bytes >> 20 },
        Ok(s) if s.signal().is_some() => {
            MediaError::Crashed(format!("killed by signal {} {last_line}", s.signal().unwrap_or(0)).trim().to_owned())
        }
        Ok(s) => MediaError::Crashed(format!("exited with {s} {last_line}").trim().to_owned()),
        Err(e) => MediaError::Crashed(format!("lost track of the converter: {e}")),
    }
}
