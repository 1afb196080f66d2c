#!/usr/bin/env bash
# Measures the distributed form (release builds) on this machine:
#   1. each function binary: size, time from exec to the first 200 from /health/readiness
#      (median of BENCH_RUNS starts, against the real services), idle memory (VmRSS);
#   2. end-to-end latency of a BENCH_VIDEO_SECONDS (default 600: 10 minutes) video, from the
#      start of `POST /upload` to the job reported `succeeded`: on the distributed path
#      (local-dev/functions.sh: separate processes, the local broker, RabbitMQ, GridFS,
#      MySQL) and on the embedded default (`mp3convert serve`), runs interleaved; then again
#      after BENCH_STORED (50) other videos are stored in each, to show whether it grows.
# Figures are medians; the machine is shared, so compare the ratio, don't trust one number.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-5}
video_seconds=${BENCH_VIDEO_SECONDS:-600}
. ./local-dev/bench-lib.sh

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
kib() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }
port=$((20000 + RANDOM % 20000))

# --- 1. each function on its own --------------------------------------------------------
export MP3CONVERT_MODE=dev MP3CONVERT_DATA_DIR="$work/data" MP3CONVERT_MONGODB_DATABASE=bench RUST_LOG=warn
printf '%-22s %8s %14s %10s\n' binary size "exec->ready" "idle RSS"
for name in auth upload convert download notify; do
    starts=() idle=()
    for i in $(seq "$runs"); do
        t0=$(now_ms)
        MP3CONVERT_ADDR=127.0.0.1:$port K_SINK=http://127.0.0.1:9/ "$bin/mp3convert-$name" > /dev/null &
        pid=$!
        pids=("$pid")
        until curl -fs -o /dev/null "http://127.0.0.1:$port/health/readiness"; do
            kill -0 "$pid" 2> /dev/null || { echo "mp3convert-$name died" >&2; exit 1; }
            sleep 0.002
        done
        starts+=($(($(now_ms) - t0)))
        sleep 1 # let start-up settle before reading idle memory
        idle+=("$(kib "$pid" VmRSS)")
        kill "$pid"; wait "$pid" 2> /dev/null || true
        pids=()
    done
    size=$(stat -c %s "$bin/mp3convert-$name")
    printf '%-22s %6.1f MiB %11s ms %6.1f MiB   (starts ms: %s)\n' "mp3convert-$name" "$(awk -v b="$size" 'BEGIN {print b / 1048576}')" \
        "$(printf '%s\n' "${starts[@]}" | median)" "$(printf '%s\n' "${idle[@]}" | median | awk '{print $1 / 1024}')" "${starts[*]}"
done
unset MP3CONVERT_MODE MP3CONVERT_DATA_DIR MP3CONVERT_MONGODB_DATABASE

# --- 2. a long video, end to end ---------------------------------------------------------
video="$work/talk.mp4"
make_video "$video" "$video_seconds"
echo "video: ${video_seconds} s, $(($(stat -c %s "$video") / 1048576)) MiB (AAC 128k stereo + MPEG-4 160x120)"

token_for() { # auth-url
    local creds="{\"email\":\"bench-$RANDOM$RANDOM@example.com\",\"password\":\"bench-password\"}"
    curl -fs -H 'content-type: application/json' -d "$creds" "$1/api/v1/users" > /dev/null
    curl -fs -H 'content-type: application/json' -d "$creds" "$1/api/v1/tokens" | sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}
latency() { # upload-url token → ms from upload start to succeeded
    local t0 job status
    t0=$(now_ms)
    job=$(curl -fs -X POST -F "file=@$video" -H "Authorization: Bearer $2" "$1/upload" | sed 's/.*"job_id":"\([^"]*\)".*/\1/')
    while :; do
        status=$(curl -fs -H "Authorization: Bearer $2" "$1/api/v1/jobs/$job" | sed 's/.*"status":"\([a-z]*\)".*/\1/')
        case $status in
            succeeded) break ;;
            failed) echo "job $job failed" >&2; exit 1 ;;
        esac
        sleep 0.05
    done
    echo $(($(now_ms) - t0))
}

# A database of its own: the first figure is on a fresh one.
LOCAL_DEV_FUNCTIONS_PORT=$((port + 10)) MP3CONVERT_BIN_DIR=$bin MP3CONVERT_MONGODB_DATABASE="bench_$RANDOM$RANDOM" RUST_LOG=warn \
    ./local-dev/functions.sh start > /dev/null
dist_auth=http://127.0.0.1:$((port + 10)) dist_upload=http://127.0.0.1:$((port + 11))
# The embedded default: its data directory, not the services exported above.
env -u MP3CONVERT_MONGODB_URL -u MP3CONVERT_MYSQL_URL -u MP3CONVERT_AMQP_URL MP3CONVERT_WORKERS=1 RUST_LOG=warn "$bin/mp3convert" serve --addr "127.0.0.1:$port" --data-dir "$work/embedded" > /dev/null &
pids=($!)
until curl -fs -o /dev/null "http://127.0.0.1:$port/health/readiness"; do sleep 0.01; done
embedded=http://127.0.0.1:$port
dist_token=$(token_for "$dist_auth") embedded_token=$(token_for "$embedded")

measure() { # label
    local distributed=() all_in_one=() i d e
    for i in $(seq "$runs"); do
        distributed+=("$(latency "$dist_upload" "$dist_token")")
        all_in_one+=("$(latency "$embedded" "$embedded_token")")
    done
    d=$(printf '%s\n' "${distributed[@]}" | median) e=$(printf '%s\n' "${all_in_one[@]}" | median)
    echo "upload -> MP3 available, ${video_seconds} s video, $1: distributed median ${d} ms (${distributed[*]}), embedded median ${e} ms (${all_in_one[*]}), ratio $(awk -v d="$d" -v e="$e" 'BEGIN {printf "%.3f", d / e}')"
}
measure "first videos stored"

# The same once BENCH_STORED (50) other videos of BENCH_STORED_SECONDS (120) s are stored
# in each form: a cost that grows with the collection shows here.
stored=${BENCH_STORED:-50} stored_seconds=${BENCH_STORED_SECONDS:-120}
if ((stored > 0)); then
    other="$work/other.mp4"
    make_video "$other" "$stored_seconds" 330
    fillers=()
    for i in $(seq "$stored"); do
        # A new user every 10 uploads: the per-user limit of queued jobs is 20.
        if ((i % 10 == 1)); then
            fill_dist=$(token_for "$dist_auth") fill_embedded=$(token_for "$embedded")
            fillers+=("$dist_upload $fill_dist" "$embedded $fill_embedded")
        fi
        for target in "$dist_upload $fill_dist" "$embedded $fill_embedded"; do
            set -- $target
            curl -fs -o /dev/null -X POST -F "file=@$other" -H "Authorization: Bearer $2" "$1/upload"
        done
    done
    # Their conversions run in the background: wait for them, so the figure shows the cost of
    # what is stored, not of a queue still draining.
    deadline=$(($(date +%s) + 1800))
    for target in "${fillers[@]}"; do
        set -- $target
        while curl -fs -H "Authorization: Bearer $2" "$1/api/v1/jobs" | grep -Eq '"status":"(queued|processing)"'; do
            (($(date +%s) < deadline)) || { echo "the stored videos' conversions did not finish" >&2; exit 1; }
            sleep 0.5
        done
    done
    echo "stored $stored more videos of ${stored_seconds} s ($(($(stat -c %s "$other") / 1048576)) MiB each) in each form, all converted"
    measure "after $stored more"
fi
