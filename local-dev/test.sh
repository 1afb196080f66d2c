#!/usr/bin/env bash
# The project's test command (README "Test"; CI runs it through .ci/run).
# Installs what the tests need (ffmpeg, curl) if missing, builds the binary the end-to-end
# tests drive, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

./local-dev/install-deps.sh
cargo build --locked --bin mp3convert
cargo test --locked --workspace "$@"
