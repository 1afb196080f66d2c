#!/usr/bin/env bash
# Installs what the tests and benchmarks need from Debian's packages, once per machine:
# ffmpeg/ffprobe (test fixtures, output checks, the benchmark baseline), mpg123 (a second MP3
# decoder the parallel-encoding tests check our streams with), GNU time (peak memory) and
# Chromium with its WebDriver (the web page's browser test, tests/tests/web).
# Safe to run repeatedly: it only installs what is missing.
set -euo pipefail

need=()
{ command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1 || need+=(ffmpeg)
command -v mpg123 >/dev/null 2>&1 || need+=(mpg123)
[ -x /usr/bin/time ] || need+=(time)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${need[*]}" >&2; exit 1; }
    sudo="sudo"
fi

echo "install-deps: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
