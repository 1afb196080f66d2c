//! The worker process's side: the source read from the parent through the pipe, the MP3
//! written back through it, and the conversion run under the memory limit.

use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Stdin, Stdout, Write};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use symphonia::core::io::MediaSource;

use super::wire::{self, Start, tag};
use crate::Mp3Sink;
use crate::encode::parallel::threads_within;

/// Bytes asked for per read at least: small reads (box headers) are served from this window.
const WINDOW: usize = 256 * 1024;

/// Both ends of the pipe to the parent. The pipeline reads and writes from one thread, but the
/// source and the sink are separate objects, hence the lock.
struct Pipe {
    to_parent: BufWriter<Stdout>,
    from_parent: BufReader<Stdin>,
    payload: Vec<u8>,
}

type Shared = Arc<Mutex<Pipe>>;

fn lock(pipe: &Shared) -> io::Result<std::sync::MutexGuard<'_, Pipe>> {
    pipe.lock().map_err(|_| io::Error::other("pipe lock poisoned"))
}

fn send(pipe: &Shared, tag: u8, payload: &[u8]) -> io::Result<()> {
    wire::write_message(&mut lock(pipe)?.to_parent, tag, payload)
}

/// The source, read through the parent.
struct RemoteSource {
    pipe: Shared,
    pos: u64,
    byte_len: Option<u64>,
    seekable: bool,
    /// Bytes of the source from `window_at`.
    window: Vec<u8>,
    window_at: u64,
}

impl Read for RemoteSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let in_window = self.pos.checked_sub(self.window_at).and_then(|o| usize::try_from(o).ok()).filter(|o| *o < self.window.len());
        if let Some(offset) = in_window {
            let n = buf.len().min(self.window.len() - offset);
            buf[..n].copy_from_slice(&self.window[offset..offset + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let want = buf.len().clamp(WINDOW, wire::MAX_PAYLOAD) as u32;
        let mut pipe = lock(&self.pipe)?;
        let Pipe { to_parent, from_parent, payload } = &mut *pipe;
        wire::write_message(to_parent, tag::READ, &wire::Fields::default().u64(self.pos).u64(u64::from(want)).0)?;
        to_parent.flush()?;
        match wire::read_message(from_parent, payload)? {
            Some(tag::DATA) => {}
            _ => return Err(io::Error::other("the parent did not answer a read")),
        }
        let n = buf.len().min(payload.len());
        buf[..n].copy_from_slice(&payload[..n]);
        self.window.clear();
        self.window.extend_from_slice(payload);
        self.window_at = self.pos;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RemoteSource {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let invalid = || io::Error::new(io::ErrorKind::InvalidInput, "seek outside the source");
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.byte_len.ok_or_else(|| io::Error::other("the source's length is unknown"))?.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(invalid)?;
        Ok(self.pos)
    }
}

impl MediaSource for RemoteSource {
    fn is_seekable(&self) -> bool {
        self.seekable
    }

    fn byte_len(&self) -> Option<u64> {
        self.byte_len
    }
}

/// The MP3, written through the parent.
struct RemoteSink {
    pipe: Shared,
    buf: Vec<u8>,
}

impl Write for RemoteSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        for piece in self.buf.chunks(wire::MAX_PAYLOAD) {
            send(&self.pipe, tag::WRITE, piece)?;
        }
        self.buf.clear();
        lock(&self.pipe)?.to_parent.flush()
    }
}

impl Mp3Sink for RemoteSink {
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.flush()?;
        let mut payload = wire::Fields::default().u64(offset).0;
        payload.extend_from_slice(bytes);
        send(&self.pipe, tag::OVERWRITE, &payload)
    }
}

/// The worker's whole life: one conversion, then exit. Returns the process's exit code.
pub fn run() -> u8 {
    // The worker dies with its parent, whatever it is doing.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let mut from_parent = BufReader::with_capacity(64 * 1024, io::stdin());
    let mut payload = Vec::new();
    let start = match wire::read_message(&mut from_parent, &mut payload) {
        Ok(Some(tag::START)) => Start::decode(&payload),
        _ => return 2,
    };
    let Ok(start) = start else { return 2 };
    limit_resources(start.memory_bytes);
    let pipe = Arc::new(Mutex::new(Pipe { to_parent: BufWriter::with_capacity(64 * 1024, io::stdout()), from_parent, payload }));
    let source =
        RemoteSource { pipe: pipe.clone(), pos: 0, byte_len: start.byte_len, seekable: start.seekable, window: Vec::new(), window_at: 0 };
    let mut sink = RemoteSink { pipe: pipe.clone(), buf: Vec::with_capacity(80 * 1024) };
    let progress_pipe = pipe.clone();
    let mut progress = move |p: f32| {
        if send(&progress_pipe, tag::PROGRESS, &p.to_le_bytes()).is_ok()
            && let Ok(mut pipe) = lock(&progress_pipe)
        {
            let _ = pipe.to_parent.flush();
        }
    };
    // As many LAME threads as asked for, or the cores, as far as the memory limit allows.
    let threads = match start.options.encode_threads {
        0 => crate::encode::default_threads(),
        n => n,
    };
    let options = crate::Options { encode_threads: threads.min(threads_within(start.memory_bytes)), ..start.options };
    let result = crate::convert(Box::new(source), &mut sink, &options, &mut progress, &AtomicBool::new(false));
    let sent = match result {
        Ok(mut report) => {
            report.peak_memory_bytes = peak_memory();
            sink.flush().and_then(|()| send(&pipe, tag::DONE, &wire::encode_report(&report)))
        }
        Err(e) => send(&pipe, tag::ERROR, &wire::encode_error(&e)),
    };
    let flushed = sent.and_then(|()| lock(&pipe)?.to_parent.flush());
    if flushed.is_ok() { 0 } else { 1 }
}

/// The memory limit is on everything the process allocates (`RLIMIT_DATA`: heap, stacks,
/// private mappings), less what it has already touched, so its resident size stays under
/// `memory_bytes`. No core dumps, no files.
fn limit_resources(memory_bytes: u64) {
    use rustix::process::{Resource, Rlimit, setrlimit};
    // Code pages the conversion touches later (decoders, LAME) are not data but are resident.
    const CODE_ALLOWANCE: u64 = 4 << 20;
    let data = memory_bytes.saturating_sub(resident_bytes().unwrap_or(0)).saturating_sub(CODE_ALLOWANCE).max(8 << 20);
    let _ = setrlimit(Resource::Data, Rlimit { current: Some(data), maximum: Some(data) });
    let _ = setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) });
    let _ = setrlimit(Resource::Fsize, Rlimit { current: Some(0), maximum: Some(0) });
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse::<u64>().ok().map(|kib| kib * 1024)
}

fn resident_bytes() -> Option<u64> {
    status_kib("VmRSS:")
}

/// The process's peak resident size so far.
fn peak_memory() -> Option<u64> {
    status_kib("VmHWM:")
}
