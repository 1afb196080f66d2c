#!/usr/bin/env python3
"""Replays issue 9's attacks against the release `mp3convert`: prints, per attack, the
outcome and the peak memory it cost. Run through local-dev/bench-hostile.sh (which builds
the binary); standard library only.

    bench-hostile.py BINARY WORKDIR [MUTATIONS]
"""

import base64
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

MIB = 1024 * 1024


def wav(rate, channels=1, bits=16, data=b"\0" * 6):
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * block) & 0xFFFFFFFF, block, bits)
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def run_measured(args, env=None, timeout=120):
    """(exit code or -signal, stderr's last line, peak RSS in MiB, seconds) under GNU time."""
    with tempfile.NamedTemporaryFile() as report:
        started = time.monotonic()
        try:
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *args],
                                  capture_output=True, text=True, timeout=timeout, env=env)
            code = proc.returncode
            last = (proc.stderr.strip().splitlines() or [""])[-1]
        except subprocess.TimeoutExpired:
            code, last = "hang", f"still running after {timeout} s"
        took = time.monotonic() - started
        lines = open(report.name).read().strip().splitlines()
        peak = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else float("nan")
        return code, last, peak, took


class Server:
    def __init__(self, binary, data_dir, env=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.close()
        full_env = dict(os.environ, RUST_LOG="error", **(env or {}))
        for name in ("MP3CONVERT_MONGODB_URL", "MP3CONVERT_MYSQL_URL", "MP3CONVERT_AMQP_URL", "K_SINK"):
            full_env.pop(name, None)
        self.proc = subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{self.port}", "--data-dir", data_dir],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=full_env)
        self.proc.stdout.readline()
        self.url = f"http://127.0.0.1:{self.port}"

    def hwm(self):
        return status_kib(self.proc.pid, "VmHWM:") / 1024

    def rss(self):
        return status_kib(self.proc.pid, "VmRSS:") / 1024

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def user(self):
        email = f"bench{random.randrange(1 << 30)}@example.com"
        body = json.dumps({"email": email, "password": "a long password"}).encode()
        self.request("POST", "/api/v1/users", body, {"content-type": "application/json"})
        status, token = self.request("POST", "/login", headers=basic(email, "a long password"))
        return email, token.decode()

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=600)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def basic(email, password):
    return {"authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def closed_after(sock, limit):
    """Seconds until the server closes the connection (or answers), up to `limit`."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        data = sock.recv(65536)
        answer = data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "closed"
    except (socket.timeout, TimeoutError):
        answer = "still open"
    except ConnectionResetError:
        answer = "reset"
    return time.monotonic() - started, answer


def endless_part_header(server, token, megabytes, stop=None):
    """Sends a chunked multipart body whose part header never ends; returns the answer."""
    s = server.connect()
    s.sendall((f"POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               "Content-Type: multipart/form-data; boundary=XX\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
    junk = b"X-Junk: " + b"a" * (MIB - 8)
    first = b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n"
    answer = "no answer"
    try:
        for i in range(megabytes):
            if stop is not None and stop.is_set():
                break
            chunk = first if i == 0 else junk
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.settimeout(10)
    try:
        data = s.recv(65536)
        answer = data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "closed"
    except (socket.timeout, TimeoutError, ConnectionResetError):
        answer = "no answer (connection closed or reset)"
    s.close()
    return answer


def mutate(data, rng):
    data = bytearray(data)
    kind = rng.choice(["flip", "ff", "truncate", "zero"])
    if kind == "flip":
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif kind == "ff":
        i = rng.randrange(len(data))
        data[i:i + rng.randint(4, 64)] = b"\xff" * rng.randint(4, 64)
    elif kind == "zero":
        i = rng.randrange(len(data))
        data[i:i + rng.randint(4, 64)] = b"\0" * rng.randint(4, 64)
    else:
        data = data[:rng.randrange(1, len(data))]
    return bytes(data), kind


def fixtures(work):
    made = []
    specs = [("mp4", ["-c:a", "aac"]), ("mkv", ["-c:a", "libvorbis"]), ("webm", ["-c:a", "libopus"]),
             ("wav", []), ("flac", []), ("mp3", ["-c:a", "libmp3lame"]), ("ogg", ["-c:a", "libvorbis"]),
             ("m4a", ["-c:a", "alac"]), ("avi", ["-c:a", "pcm_s16le"]), ("mov", ["-c:a", "pcm_s16be"])]
    for ext, codec in specs:
        path = os.path.join(work, f"seed.{ext}")
        if not os.path.exists(path):
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
                            "-ac", "2", *codec, path], check=True)
        made.append(path)
    # Videos, as uploads mostly are: the audio interleaved with a video track.
    videos = [("video.mp4", ["-c:v", "libx264", "-c:a", "aac"]), ("video.mkv", ["-c:v", "libx264", "-c:a", "libopus"]),
              ("video.mov", ["-c:v", "mpeg4", "-c:a", "aac"]), ("video.avi", ["-c:v", "mpeg4", "-c:a", "pcm_s16le"]),
              ("video.webm", ["-c:v", "libvpx", "-c:a", "libvorbis"])]
    for name, codec in videos:
        path = os.path.join(work, name)
        if not os.path.exists(path):
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
                            "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=3", "-ac", "2", *codec, path],
                           check=True)
        made.append(path)
    return made


def main():
    binary, work = sys.argv[1], sys.argv[2]
    mutations = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    os.makedirs(work, exist_ok=True)
    rows = []

    def row(attack, outcome, memory):
        rows.append((attack, outcome, memory))
        print(f"  {attack}: {outcome} [{memory}]", file=sys.stderr, flush=True)

    out = os.path.join(work, "out.mp3")
    for name, data in (("50-byte WAV declaring 4,294,967,291 Hz", wav(4294967291)),
                       ("8 KB WAV declaring 1 Hz", wav(1, data=b"\x10" * 8000))):
        path = os.path.join(work, "crafted.wav")
        open(path, "wb").write(data)
        code, last, peak, took = run_measured([binary, "convert", path, out])
        row(f"{name}, to `mp3convert convert`", f"exit {code}: {last} ({took:.2f} s)", f"peak {peak:.1f} MiB")

    # Every request comes from 127.0.0.1 here: no per-address limits, so that the 64 log-ins
    # at once all reach argon2 (the per-account limit is what the wrong passwords meet).
    server = Server(binary, os.path.join(work, "data"),
                    {"MP3CONVERT_LOGINS_PER_ADDRESS": "0", "MP3CONVERT_SIGNUPS_PER_ADDRESS": "0"})
    try:
        email, token = server.user()
        body = wav(4294967291)
        status, answer = server.request("POST", "/api/v1/videos?filename=a.wav", body,
                                        {"authorization": f"Bearer {token}", "content-type": "audio/wav"})
        job = json.loads(answer)["job_id"]
        deadline, state = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            state = json.loads(server.request("GET", f"/api/v1/jobs/{job}", headers={"authorization": f"Bearer {token}"})[1])
            if state["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        row("the same WAV uploaded to the server", f"job {state.get('status')} {json.dumps(state.get('error'))}",
            f"server peak {server.hwm():.1f} MiB")

        before = server.rss()
        answer = endless_part_header(server, token, 400)
        row("multipart part header that never ends (400 MiB, chunked)", answer,
            f"server RSS {before:.1f} → peak {server.hwm():.1f} MiB")

        s = server.connect()
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-")
        took, answer = closed_after(s, 120)
        row("half a request header, then silence", f"{answer} after {took:.1f} s", "")

        s = server.connect()
        s.sendall((f"POST /api/v1/videos?filename=a.mp4 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                   "Content-Type: video/mp4\r\nContent-Length: 100000\r\n\r\n").encode())
        started, answer = time.monotonic(), "still open after 150 s"
        s.settimeout(2)
        while time.monotonic() - started < 150:
            try:
                s.sendall(b"\0")
                data = s.recv(65536)
                answer = data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "closed"
                break
            except (socket.timeout, TimeoutError):
                continue
            except (BrokenPipeError, ConnectionResetError):
                answer = "closed"
                break
        row("upload body trickled at 1 byte / 2 s", f"{answer} after {time.monotonic() - started:.0f} s", "")

        statuses = [server.request("POST", "/login", headers=basic(email, "wrong password"))[0] for _ in range(30)]
        counts = {code: statuses.count(code) for code in sorted(set(statuses))}
        row("30 wrong passwords for one account", " ".join(f"{n} × {code}" for code, n in counts.items()), "")

        # 16 accounts × 4: concurrent log-ins to one account count against its failure limit
        # until each has checked its password.
        accounts = [server.user()[0] for _ in range(16)]
        before = server.rss()
        results = []

        def login(account):
            results.append(server.request("POST", "/login", headers=basic(account, "a long password"))[0])

        threads = [threading.Thread(target=login, args=(accounts[i % 16],)) for i in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        counts = {code: results.count(code) for code in sorted(set(results))}
        row("64 logins at once (16 accounts × 4)", " ".join(f"{n} × {code}" for code, n in counts.items()),
            f"server RSS {before:.1f} → peak {server.hwm():.1f} MiB")
    finally:
        server.stop()

    # An upload that keeps going at 4 KiB/s (above the minimum rate) is open at SIGTERM; the
    # grace period is 5 s here (30 s by default), then 5 s for cut-off work.
    server = Server(binary, os.path.join(work, "data2"), {"MP3CONVERT_SHUTDOWN_GRACE_SECS": "5"})
    try:
        _, token = server.user()
        stop = threading.Event()

        def steady_upload():
            try:
                s = server.connect()
                s.sendall((f"POST /api/v1/videos?filename=a.mp4 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                           "Content-Type: video/mp4\r\nContent-Length: 1000000000\r\n\r\n").encode())
                s.sendall(b"\0\0\0\x20ftypisom" + b"\0" * 4084)
                while not stop.is_set():
                    s.sendall(b"\0" * 4096)
                    time.sleep(1)
            except OSError:
                pass

        sender = threading.Thread(target=steady_upload, daemon=True)
        sender.start()
        time.sleep(2)
        started = time.monotonic()
        server.proc.terminate()
        try:
            server.proc.wait(timeout=120)
            outcome = f"exited {server.proc.returncode} after {time.monotonic() - started:.1f} s (grace 5 s)"
        except subprocess.TimeoutExpired:
            outcome = "still draining after 120 s"
        stop.set()
        stored = sum(len(files) for _, _, files in os.walk(os.path.join(work, "data2", "blobs", "videos")))
        row("SIGTERM while an upload is open", f"{outcome}; videos kept: {stored}", "")
    finally:
        server.stop()

    rng = random.Random(9)
    seeds = fixtures(work)
    results = {}
    worst_peak, worst_time, signals = 0.0, 0.0, []
    for i in range(mutations):
        seed = seeds[i % len(seeds)]
        data, kind = mutate(open(seed, "rb").read(), rng)
        path = os.path.join(work, "mutated" + os.path.splitext(seed)[1])
        open(path, "wb").write(data)
        code, last, peak, took = run_measured([binary, "convert", path, out], timeout=60)
        outcome = last.split(":")[1].strip() if code == 1 and last.startswith("mp3convert:") else f"exit {code}"
        results[outcome] = results.get(outcome, 0) + 1
        worst_peak, worst_time = max(worst_peak, peak), max(worst_time, took)
        if code not in (0, 1):
            signals.append(f"{os.path.basename(seed)} {kind}: {code} {last}")
    summary = ", ".join(f"{n} × {o}" for o, n in sorted(results.items(), key=lambda x: -x[1]))
    row(f"{mutations} mutated media files (bit flips, 0xFF/0x00 runs, truncations) to `mp3convert convert`",
        summary + (f"; NOT CLEAN: {signals[:5]}" if signals else "; none crashed or hung"),
        f"worst peak {worst_peak:.1f} MiB, slowest {worst_time:.1f} s")

    print("| attack | outcome | memory |")
    print("|---|---|---|")
    for attack, outcome, memory in rows:
        print(f"| {attack} | {outcome} | {memory} |")


if __name__ == "__main__":
    main()
