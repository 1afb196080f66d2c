#!/usr/bin/env bash
# Benchmarks our converter against ffmpeg + libmp3lame (-q:a 2) on long AAC videos.
#
# Generates (once, cached in .cache/bench/) a video of each length in BENCH_MINUTES: a tiny
# 160x120 H.264 stream plus 44.1 kHz stereo AAC of a music-like signal (gliding, pulsing tones
# with noise). Then runs ffmpeg and ours alternately BENCH_RUNS times each under /usr/bin/time
# and prints the medians of wall time, CPU time (user+sys) and peak RSS, and the ratios
# ours/ffmpeg. Targets: wall <= 0.95x ffmpeg, peak RSS <= 16 MiB on the 60-minute input.
#
# Environment:
#   BENCH_MINUTES   lengths to test, space-separated (default "10 60")
#   BENCH_RUNS      runs per tool and input (default 3)
#   MP3CONVERT_BIN  our command, called as `$MP3CONVERT_BIN INPUT OUTPUT.mp3`; default:
#                   `target/release/mp3convert convert --preset v2`, built here.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache="$root/.cache/bench"
minutes=${BENCH_MINUTES:-"10 60"}
runs=${BENCH_RUNS:-3}

die() { echo "bench-convert: $*" >&2; exit 1; }
command -v ffmpeg >/dev/null || die "ffmpeg not found (run local-dev/install-deps.sh)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time, or local-dev/install-deps.sh)"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"

if [ -z "${MP3CONVERT_BIN:-}" ]; then
    echo "bench-convert: building mp3convert (release)" >&2
    cargo build --release --quiet --locked --bin mp3convert
    MP3CONVERT_BIN="${CARGO_TARGET_DIR:-$root/target}/release/mp3convert convert --preset v2"
fi
read -r -a ours <<<"$MP3CONVERT_BIN"

mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_input() {
    local m=$1 out="$cache/aac-${1}min.mp4"
    if [ ! -s "$out" ]; then
        echo "bench-convert: generating a ${m}-minute AAC video (cached in $out)" >&2
        local left="0.25*sin(2*PI*(220+30*sin(2*PI*0.2*t))*t)*(0.6+0.4*sin(2*PI*1.5*t))+0.08*(random(0)-0.5)"
        local right="0.25*sin(2*PI*(330+40*sin(2*PI*0.13*t))*t)*(0.6+0.4*sin(2*PI*2*t))+0.08*(random(1)-0.5)"
        ffmpeg -y -v error -nostdin \
            -f lavfi -i "testsrc2=size=160x120:rate=5" \
            -f lavfi -i "aevalsrc=${left}|${right}:s=44100" \
            -t $((m * 60)) -c:v libx264 -preset ultrafast -c:a aac -b:a 160k -ac 2 "$out.part.mp4"
        mv "$out.part.mp4" "$out"
    fi
    echo "$out"
}

# Runs "$@" under /usr/bin/time; prints "wall cpu maxrss_kib".
measure() {
    local tf="$work/time"
    if ! /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >/dev/null 2>"$work/err"; then
        cat "$work/err" >&2
        die "command failed: $*"
    fi
    awk '{ printf "%.2f %.2f %d\n", $1, $2 + $3, $4 }' "$tf"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for m in $minutes; do
    in=$(make_input "$m")
    : >"$work/ffmpeg" && : >"$work/ours"
    for ((i = 1; i <= runs; i++)); do
        measure ffmpeg -y -v error -nostdin -i "$in" -vn -codec:a libmp3lame -q:a 2 "$work/ffmpeg.mp3" >>"$work/ffmpeg"
        measure "${ours[@]}" "$in" "$work/ours.mp3" >>"$work/ours"
        echo "bench-convert: ${m} min run $i/$runs: ffmpeg $(tail -1 "$work/ffmpeg"), ours $(tail -1 "$work/ours") (wall s, cpu s, KiB)" >&2
    done
    for tool in ffmpeg ours; do
        for col in 1 2 3; do
            cut -d' ' -f$col "$work/$tool" | median >"$work/$tool.$col"
        done
    done
    echo
    echo "== ${m}-minute AAC video, V2, median of $runs runs =="
    printf '%-8s %10s %10s %14s\n' tool "wall s" "cpu s" "peak RSS MiB"
    for tool in ffmpeg ours; do
        printf '%-8s %10s %10s %14.1f\n' "$tool" "$(cat "$work/$tool.1")" "$(cat "$work/$tool.2")" \
            "$(awk '{ print $1 / 1024 }' "$work/$tool.3")"
    done
    printf '%-8s %10.3f %10.3f %14.3f\n' "ours/ff" \
        "$(awk -v a="$(cat "$work/ours.1")" -v b="$(cat "$work/ffmpeg.1")" 'BEGIN { print a / b }')" \
        "$(awk -v a="$(cat "$work/ours.2")" -v b="$(cat "$work/ffmpeg.2")" 'BEGIN { print a / b }')" \
        "$(awk -v a="$(cat "$work/ours.3")" -v b="$(cat "$work/ffmpeg.3")" 'BEGIN { print a / b }')"
    ff_samples=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/ffmpeg.mp3")
    our_samples=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/ours.mp3")
    echo "output duration: ffmpeg ${ff_samples}s, ours ${our_samples}s; size: ffmpeg $(stat -c %s "$work/ffmpeg.mp3") B, ours $(stat -c %s "$work/ours.mp3") B"
done
