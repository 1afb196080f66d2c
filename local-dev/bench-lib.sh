# Sourced by the benchmarks that run the distributed form (bench-functions.sh, bench-load.sh):
# a work directory and processes cleaned up on exit (and functions.sh stopped), the release
# build, the real services started and their URLs exported; `$bin` is the release directory.
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null; done
    ./local-dev/functions.sh stop > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

./local-dev/install-deps.sh
cargo build --release --locked --bins --workspace >&2
./local-dev/services.sh start >&2
eval "$(./local-dev/services.sh env)"
bin="${CARGO_TARGET_DIR:-target}/release"

# A test video: a sine tone (AAC 128k stereo) under a small MPEG-4 test picture.
make_video() { # path seconds [frequency]
    ffmpeg -v error -y -f lavfi -i "sine=frequency=${3:-440}:sample_rate=44100:duration=$2" \
        -f lavfi -i "testsrc=size=160x120:rate=10:duration=$2" -ac 2 -c:a aac -b:a 128k -c:v mpeg4 -shortest "$1"
}
