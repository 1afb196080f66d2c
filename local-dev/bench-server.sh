#!/usr/bin/env bash
# Measures the all-in-one server (release build) on this machine:
#   1. time from exec to the first 200 from /health/readiness (median of BENCH_RUNS starts,
#      each with a fresh data directory, so it includes key generation and migrations);
#   2. idle memory (VmRSS) after start-up;
#   3. a BENCH_UPLOAD_MIB (default 1024) upload over loopback: throughput, and the server's
#      peak memory (VmHWM) before and after — growth must stay under 32 MiB.
# Figures are medians over runs; the machine is shared, so compare, don't trust one number.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-5}
upload_mib=${BENCH_UPLOAD_MIB:-1024}
work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

./local-dev/install-deps.sh
cargo build --release --locked --bin mp3convert >&2
bin="${CARGO_TARGET_DIR:-target}/release/mp3convert"
port=$(( 20000 + RANDOM % 20000 ))
url="http://127.0.0.1:$port"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
kib() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }

start_server() {  # data dir
    MP3CONVERT_WORKERS=1 RUST_LOG=warn "$bin" serve --addr "127.0.0.1:$port" --data-dir "$1" >/dev/null &
    pid=$!
    until curl -fs -o /dev/null "$url/health/readiness"; do
        kill -0 "$pid" 2>/dev/null || { echo "server died" >&2; exit 1; }
        sleep 0.002
    done
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

starts=() idle=()
for i in $(seq "$runs"); do
    t0=$(now_ms)
    start_server "$work/data$i"
    starts+=($(( $(now_ms) - t0 )))
    sleep 1  # let start-up settle before reading idle memory
    idle+=("$(kib "$pid" VmRSS)")
    stop_server
done
echo "start to ready: median $(printf '%s\n' "${starts[@]}" | median) ms over $runs fresh starts (${starts[*]})"
echo "idle memory:    median $(( $(printf '%s\n' "${idle[@]}" | median | cut -d. -f1) / 1024 )) MiB RSS (KiB: ${idle[*]})"

# A file that passes the media sniff (an MP4 'ftyp' box) followed by zeros.
big="$work/big.mp4"
{ printf '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom'; head -c $(( upload_mib * 1024 * 1024 - 24 )) /dev/zero; } > "$big"
start_server "$work/upload"
creds='{"email":"bench@example.com","password":"bench-password"}'
curl -fs -H 'content-type: application/json' -d "$creds" "$url/api/v1/users" >/dev/null
token=$(curl -fs -H 'content-type: application/json' -d "$creds" "$url/api/v1/tokens" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
before=$(kib "$pid" VmHWM)
stats=$(curl -fs -o /dev/null -w '%{time_total} %{speed_upload}' -X POST -T "$big" \
    -H "Authorization: Bearer $token" -H 'content-type: video/mp4' "$url/api/v1/videos?filename=big.mp4")
after=$(kib "$pid" VmHWM)
read -r seconds speed <<<"$stats"
echo "upload ${upload_mib} MiB: ${seconds} s, $(awk -v s="$speed" 'BEGIN {printf "%.0f", s/1048576}') MiB/s; server peak memory ${before} -> ${after} KiB (growth $(( (after - before) / 1024 )) MiB; target < 32 MiB)"
