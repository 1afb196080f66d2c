#!/usr/bin/env python3
"""Concurrent uploads against running mp3convert forms (local-dev/bench-load.sh starts them).

    bench-load.py FILE UPLOADS ROUNDS NAME=AUTH_URL,UPLOAD_URL [NAME=...]

Per form: UPLOADS uploads of FILE sent at once (POST /api/v1/videos, raw body) by
UPLOADS/10 users, each job polled until it has finished; the latency of each is from the
start of its upload to `succeeded`. The forms take turns, ROUNDS times. Prints each round's
p50/p95/max and, per form, the medians over the rounds and the ratio to the first form.
Exit status 1 if a job fails, two jobs name one MP3, or an upload is refused.
"""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

PER_USER = 10  # under the default per-user limit of queued jobs (20)


def call(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.status, json.loads(response.read() or b"null")


def token(auth):
    creds = json.dumps({"email": f"load-{uuid.uuid4().hex}@example.com", "password": "load password"}).encode()
    call("POST", f"{auth}/api/v1/users", creds, {"content-type": "application/json"})
    return call("POST", f"{auth}/api/v1/tokens", creds, {"content-type": "application/json"})[1]["access_token"]


def one(upload, bearer, video, results, index):
    started = time.monotonic()
    headers = {"authorization": f"Bearer {bearer}", "content-type": "video/mp4"}
    try:
        status, body = call("POST", f"{upload}/api/v1/videos?filename=load.mp4", video, headers)
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode(errors="replace")
    if status != 202:
        results[index] = ("refused", status, body)
        return
    job_id = body["job_id"]
    while True:
        try:
            _, job = call("GET", f"{upload}/api/v1/jobs/{job_id}", headers={"authorization": f"Bearer {bearer}"})
        except urllib.error.HTTPError as e:
            if e.code != 503:  # 503 (a request timeout, the store busy): poll again, as a client would
                raise
            time.sleep(0.5)
            continue
        if job["status"] in ("succeeded", "failed"):
            results[index] = (job["status"], time.monotonic() - started, job.get("mp3_id"))
            return
        time.sleep(0.1)


def round_of(upload, tokens, video, uploads):
    results = [None] * uploads
    threads = [threading.Thread(target=one, args=(upload, tokens[i // PER_USER], video, results, i)) for i in range(uploads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bad = [r for r in results if r is None or r[0] != "succeeded"]
    mp3s = [r[2] for r in results if r and r[0] == "succeeded"]
    if bad or len(set(mp3s)) != len(mp3s):
        print(f"  FAILED: {len(bad)} jobs not succeeded ({bad[:3]}), {len(mp3s) - len(set(mp3s))} duplicate MP3 ids")
        sys.exit(1)
    latencies = sorted(r[1] for r in results)
    at = lambda q: latencies[max(1, min(len(latencies), int(-(-len(latencies) * q // 1)))) - 1]
    return at(0.5), at(0.95), latencies[-1]


def main():
    path, uploads, rounds, forms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    video = open(path, "rb").read()
    forms = [(name, *urls.split(",")) for name, urls in (f.split("=", 1) for f in forms)]
    tokens = {name: [token(auth) for _ in range(-(-uploads // PER_USER))] for name, auth, _ in forms}
    figures = {name: [] for name, _, _ in forms}
    for r in range(rounds):
        for name, _, upload in forms:
            p50, p95, worst = round_of(upload, tokens[name], video, uploads)
            figures[name].append((p50, p95))
            print(f"round {r + 1} {name:12} {uploads} uploads: p50 {p50:6.2f} s  p95 {p95:6.2f} s  max {worst:6.2f} s", flush=True)
    base = forms[0][0]
    b50 = statistics.median(f[0] for f in figures[base])
    b95 = statistics.median(f[1] for f in figures[base])
    for name, _, _ in forms:
        m50 = statistics.median(f[0] for f in figures[name])
        m95 = statistics.median(f[1] for f in figures[name])
        print(f"median over {rounds} rounds, {name:12}: p50 {m50:6.2f} s ({m50 / b50:.2f}x {base}), p95 {m95:6.2f} s ({m95 / b95:.2f}x {base})")


if __name__ == "__main__":
    main()
