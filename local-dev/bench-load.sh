#!/usr/bin/env bash
# Load: BENCH_UPLOADS (50) uploads at once of a BENCH_SECONDS (10) s video, upload -> job
# `succeeded` latency p50/p95, on the embedded default (`mp3convert serve`) and the
# distributed form (local-dev/functions.sh: separate release processes, the local broker,
# RabbitMQ, GridFS, MySQL), taking turns for BENCH_RUNS (3) rounds. Fails if any job fails,
# two jobs name one MP3, or an upload is refused (local-dev/bench-load.py does the work).
# The machine is shared: compare the ratio, don't trust one number.
set -euo pipefail
cd "$(dirname "$0")/.."

uploads=${BENCH_UPLOADS:-50} runs=${BENCH_RUNS:-3} seconds=${BENCH_SECONDS:-10}
. ./local-dev/bench-lib.sh
port=$((20000 + RANDOM % 20000))

video="$work/clip.mp4"
make_video "$video" "$seconds"

# A database of its own, so that earlier runs' files do not slow this one (issue 12).
LOCAL_DEV_FUNCTIONS_PORT=$((port + 10)) MP3CONVERT_BIN_DIR=$bin MP3CONVERT_MONGODB_DATABASE="load_$RANDOM$RANDOM" RUST_LOG=warn \
    ./local-dev/functions.sh start > /dev/null
env -u MP3CONVERT_MONGODB_URL -u MP3CONVERT_MYSQL_URL -u MP3CONVERT_AMQP_URL RUST_LOG=warn \
    "$bin/mp3convert" serve --addr "127.0.0.1:$port" --data-dir "$work/embedded" > /dev/null &
pids=($!)
until curl -fs -o /dev/null "http://127.0.0.1:$port/health/readiness"; do sleep 0.01; done

echo "$uploads uploads at once of a ${seconds} s video (AAC 128k stereo + MPEG-4), $(nproc) cores"
python3 local-dev/bench-load.py "$video" "$uploads" "$runs" \
    "embedded=http://127.0.0.1:$port,http://127.0.0.1:$port" \
    "distributed=http://127.0.0.1:$((port + 10)),http://127.0.0.1:$((port + 11))"
