#!/usr/bin/env bash
# Runs the distributed form on this machine: every function as its own process plus the
# local broker (the RabbitMQ Broker's data plane, configured by eventing/*.yaml), on the real
# RabbitMQ, MariaDB and FerretDB of local-dev/services.sh (started if needed).
#
#   local-dev/functions.sh start [--release]   build, start all five, wait until ready
#   local-dev/functions.sh stop                stop them (SIGTERM: in-flight work drains)
#   local-dev/functions.sh status              say what runs (exit 0 only if all five run)
#
# Ports (override the first with LOCAL_DEV_FUNCTIONS_PORT): auth 8081, upload 8082,
# convert 8083, download 8084, broker ingress 8085, notify 8086. Dev mode: the JWT keys are generated
# once into local-dev/.run/functions/data/keys and shared by the functions. Logs and pid
# files: local-dev/.run/functions/. The Broker's exchange is `mp3convert` on the local
# RabbitMQ: another system can publish there (contract §4).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
DIR="${LOCAL_DEV_RUN_DIR:-$HERE/.run}/functions"
BASE=${LOCAL_DEV_FUNCTIONS_PORT:-8081}
NAMES=(auth upload convert download broker notify)

log() { echo "[functions] $*" >&2; }
die() { log "$*"; exit 1; }
port_of() { local i; for i in "${!NAMES[@]}"; do [[ ${NAMES[$i]} == "$1" ]] && echo $((BASE + i)); done; }
live_pid() { local pid; pid=$(cat "$DIR/$1.pid" 2> /dev/null) && kill -0 "$pid" 2> /dev/null && echo "$pid"; }

launch() { # name binary [args...]; the environment is the caller's
    local name=$1 binary=$2; shift 2
    [[ -n "$(live_pid "$name")" ]] && { log "$name already running"; return 0; }
    setsid "$BIN_DIR/$binary" "$@" < /dev/null > "$DIR/$name.log" 2>&1 &
    echo $! > "$DIR/$name.pid"
}

wait_ready() { # name
    local url="http://127.0.0.1:$(port_of "$1")/health/readiness" deadline=$((SECONDS + 60))
    until curl -fs -o /dev/null "$url"; do
        [[ -n "$(live_pid "$1")" ]] || { tail -n 20 "$DIR/$1.log" >&2; die "$1 exited (log: $DIR/$1.log)"; }
        ((SECONDS < deadline)) || die "$1 not ready after 60 s (log: $DIR/$1.log)"
        sleep 0.1
    done
    log "$1 ready on http://127.0.0.1:$(port_of "$1")"
}

cmd_start() {
    local profile=debug
    [[ ${1:-} == --release ]] && profile=release
    BIN_DIR="${MP3CONVERT_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/$profile}"
    if [[ -z ${MP3CONVERT_BIN_DIR:-} ]]; then
        (cd "$ROOT" && cargo build --locked $([[ $profile == release ]] && echo --release) --bins --workspace) >&2
    fi
    "$HERE/services.sh" start >&2
    eval "$("$HERE/services.sh" env)"
    mkdir -p "$DIR/data"
    local broker="http://127.0.0.1:$(port_of broker)"
    export MP3CONVERT_MODE=dev MP3CONVERT_DATA_DIR="$DIR/data" RUST_LOG="${RUST_LOG:-info}"
    export MP3CONVERT_MONGODB_DATABASE="${MP3CONVERT_MONGODB_DATABASE:-mp3convert}"
    # One key signs and checks the functions' events (a Secret on Knative); made once, kept.
    [[ -s $DIR/event.key ]] || (umask 077 && head -c 32 /dev/urandom | base64 > "$DIR/event.key")
    export MP3CONVERT_EVENT_KEY_FILE="$DIR/event.key"
    MP3CONVERT_ADDR=127.0.0.1:$(port_of auth) launch auth mp3convert-auth
    MP3CONVERT_ADDR=127.0.0.1:$(port_of upload) K_SINK=$broker launch upload mp3convert-upload
    MP3CONVERT_ADDR=127.0.0.1:$(port_of convert) launch convert mp3convert-convert
    MP3CONVERT_ADDR=127.0.0.1:$(port_of download) launch download mp3convert-download
    MP3CONVERT_ADDR=127.0.0.1:$(port_of notify) launch notify mp3convert-notify
    launch broker mp3convert-local-broker --eventing "$ROOT/eventing" --amqp-url "$MP3CONVERT_AMQP_URL" \
        --exchange mp3convert --addr "127.0.0.1:$(port_of broker)" \
        --service "convert=http://127.0.0.1:$(port_of convert)" --service "upload=http://127.0.0.1:$(port_of upload)" \
        --service "notify=http://127.0.0.1:$(port_of notify)"
    local name
    for name in "${NAMES[@]}"; do wait_ready "$name"; done
    cat << EOF
auth      http://127.0.0.1:$(port_of auth)      POST /login, /api/v1/users, /api/v1/tokens
upload    http://127.0.0.1:$(port_of upload)      POST /upload, /api/v1/videos; GET /api/v1/jobs
download  http://127.0.0.1:$(port_of download)      GET /download, /api/v1/mp3s/{id}
convert   http://127.0.0.1:$(port_of convert)      POST / (CloudEvents, from the broker)
notify    http://127.0.0.1:$(port_of notify)      /api/v1/webhooks
broker    $broker      POST / (CloudEvents ingress; exchange "mp3convert")
EOF
}

cmd_stop() {
    local name pid
    for name in "${NAMES[@]}"; do
        pid=$(live_pid "$name") || continue
        kill -TERM "$pid"
        local deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2> /dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$pid" 2> /dev/null || true
        rm -f "$DIR/$name.pid"
        log "$name stopped"
    done
}

cmd_status() {
    local name pid all=0
    for name in "${NAMES[@]}"; do
        if pid=$(live_pid "$name"); then
            echo "$name  running  pid $pid  http://127.0.0.1:$(port_of "$name")"
        else
            echo "$name  stopped"; all=1
        fi
    done
    return $all
}

mkdir -p "$DIR"
case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 start [--release]|stop|status" >&2; exit 2 ;;
esac
