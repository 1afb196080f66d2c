#!/usr/bin/env bash
# The project's test command (README "Test"; CI runs it through .ci/run).
#
# Installs what the tests need (ffmpeg, curl) if missing, starts the real services the
# adapter tests talk to (RabbitMQ, MariaDB, FerretDB: local-dev/services.sh, left running
# for the next run; `local-dev/services.sh stop` stops them) while the workspace builds,
# then runs every test of the workspace. Arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

./local-dev/install-deps.sh

mkdir -p target
./local-dev/services.sh start >target/services-start.log 2>&1 &
services=$!

cargo build --locked --workspace --bins
cargo test --locked --workspace --no-run

if ! wait "$services"; then
    cat target/services-start.log >&2
    echo "test: the services did not start (log above)" >&2
    exit 1
fi
eval "$(./local-dev/services.sh env)"
cargo test --locked --workspace "$@"
