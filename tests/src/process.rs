//! The real `mp3convert` binary as a child process, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The binary under test: `$MP3CONVERT_BIN`, or the debug build next to this test.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MP3CONVERT_BIN") {
        return PathBuf::from(path);
    }
    let target = build_dir().join("mp3convert");
    assert!(target.exists(), "{} is missing: run `cargo build --bin mp3convert` first (local-dev/test.sh does)", target.display());
    target
}

/// The build directory this test binary was built into (`<target>/debug` when it runs from
/// `<target>/debug/deps`), wherever `CARGO_TARGET_DIR` put it.
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary's directory");
    deps.parent().unwrap_or(deps).to_path_buf()
}

pub struct Server {
    pub url: String,
    child: Child,
}

impl Server {
    /// Starts `mp3convert serve` on a free port with `data_dir` and waits for its ready line.
    pub fn start(data_dir: &Path, envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(binary())
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            // The embedded default: not the services `local-dev/test.sh` exports for others.
            .env_remove("MP3CONVERT_MONGODB_URL")
            .env_remove("MP3CONVERT_MYSQL_URL")
            .envs(envs.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start mp3convert");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the ready line");
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the ready line {line:?}"))
            .to_owned();
        Self { url, child }
    }

    /// The server's process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A `/proc/<pid>/status` figure in KiB, e.g. `VmHWM` (peak resident memory) or `VmRSS`.
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status"))
    }

    /// SIGTERM, then waits up to `limit` for the process to exit: whether it exited
    /// successfully, or `None` if it was still running (it is then killed).
    pub fn terminate_within(mut self, limit: std::time::Duration) -> Option<bool> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.success());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL: no chance to clean up, as in a crash or an OOM kill.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to exit; how it exited (a code, or the signal that
    /// ended it).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        self.child.wait().expect("waiting for mp3convert")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What [`measured`] saw of one command.
pub struct Measured {
    /// `None`: still running at the deadline, so killed (with everything it started).
    pub status: Option<std::process::ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    /// The largest resident size of the command or any process it waited for (its worker).
    pub peak_rss_bytes: Option<u64>,
    pub elapsed: std::time::Duration,
}

/// Runs `command` under GNU time (`/usr/bin/time`, Debian's `time` package) for its peak
/// memory; at `deadline` it and every process it started are killed.
pub fn measured(command: &Command, deadline: std::time::Duration) -> Measured {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("rss");
    let mut timed = Command::new("/usr/bin/time");
    timed.arg("-f").arg("%M").arg("-o").arg(&report).arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    // A process group of its own, so that the deadline kills the command and its worker too.
    std::os::unix::process::CommandExt::process_group(&mut timed, 0);
    let mut child = timed
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/time (install Debian's `time` package: local-dev/install-deps.sh does)");
    let (mut stdout, mut stderr) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let out = std::thread::spawn(move || std::io::read_to_string(&mut stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(&mut stderr).unwrap_or_default());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > deadline {
            let _ = Command::new("kill").arg("-KILL").arg("--").arg(format!("-{}", child.id())).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    // GNU time writes "Command exited with non-zero status N" before the figure.
    let kib = std::fs::read_to_string(&report).ok().and_then(|t| t.lines().last().and_then(|l| l.trim().parse::<u64>().ok()));
    Measured {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        peak_rss_bytes: kib.map(|k| k * 1024),
        elapsed,
    }
}

/// A stand-in for the converter executable: a shell script.
pub fn fake_converter(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-converter");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
