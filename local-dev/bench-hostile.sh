#!/usr/bin/env bash
# Replays issue 9's hostile inputs and abuse against the release `mp3convert` and prints, per
# attack, the outcome and the peak memory it cost (local-dev/bench-hostile.py does the work):
# crafted WAVs to the CLI and the server, an endless multipart part header, half a header, a
# trickled upload, wrong passwords, 64 logins at once, SIGTERM with an upload open, and
# BENCH_MUTATIONS (200) mutated real media files (bit flips, 0xFF/0x00 runs, truncations).
#
#   ./local-dev/bench-hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./local-dev/install-deps.sh
cargo build --release --locked --bin mp3convert
work=.cache/bench-hostile
rm -rf "$work/data" "$work/data2"
mkdir -p "$work"
python3 local-dev/bench-hostile.py "$(realpath "${CARGO_TARGET_DIR:-target}")/release/mp3convert" "$work" "${BENCH_MUTATIONS:-200}"
