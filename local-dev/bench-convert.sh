#!/usr/bin/env bash
# Benchmarks our converter against ffmpeg + libmp3lame (-q:a 2) on long videos.
#
# Generates (once, cached in .cache/bench/) a video of each kind in BENCH_INPUTS and each
# length in BENCH_MINUTES: a tiny 160x120 video stream plus audio of a music-like signal
# (gliding, pulsing tones with noise; 5.1 for the surround kinds). Then runs ffmpeg and ours
# alternately BENCH_RUNS times each under /usr/bin/time and prints the medians of wall time,
# CPU time (user+sys) and peak RSS, and the ratios ours/ffmpeg. Ours runs twice per round: as
# configured (LAME on every core: parallel gapless encoding) and with
# MP3CONVERT_ENCODE_THREADS=1 ("serial"), so the CPU the splitting costs is measured too.
# Targets (AAC, 10 and 60 minutes, on 2 cores): wall <= 0.55x ffmpeg's, CPU <= 1.05x our
# serial encode's, peak RSS <= 32 MiB.
#
# Kinds:
#   aac      MP4, H.264 + 44.1 kHz stereo AAC (the common phone/camera upload)
#   ts-ac3   MPEG-TS, MPEG-2 video + 48 kHz 5.1 AC-3 (broadcast, DVB/ATSC recordings)
#   mkv-ac3  Matroska, H.264 + 48 kHz 5.1 AC-3 (DVD/Blu-ray rips)
#   wmv-wma  ASF, WMV2 + 44.1 kHz stereo WMA v2 (old Windows downloads)
# A kind our converter refuses is reported with its error and skipped.
#
# Environment:
#   BENCH_INPUTS    kinds to test, space-separated (default "aac ts-ac3 mkv-ac3 wmv-wma")
#   BENCH_MINUTES   lengths to test, space-separated (default "10 60")
#   BENCH_RUNS      runs per tool and input (default 3)
#   BENCH_SERIAL    0 skips the serial runs (default 1)
#   MP3CONVERT_BIN  our command, called as `$MP3CONVERT_BIN INPUT OUTPUT.mp3`; default:
#                   `target/release/mp3convert convert --preset v2`, built here.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache="$root/.cache/bench"
inputs=${BENCH_INPUTS:-"aac ts-ac3 mkv-ac3 wmv-wma"}
minutes=${BENCH_MINUTES:-"10 60"}
runs=${BENCH_RUNS:-3}
serial=${BENCH_SERIAL:-1}

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

# make_input KIND MINUTES: the cached input's path.
make_input() {
    local kind=$1 m=$2 video audio ext layout
    case $kind in
        aac) ext=mp4 layout=stereo video=(-c:v libx264 -preset ultrafast) audio=(-c:a aac -b:a 160k -ar 44100) ;;
        ts-ac3) ext=ts layout=5.1 video=(-c:v mpeg2video -b:v 200k) audio=(-c:a ac3 -b:a 448k -ar 48000) ;;
        mkv-ac3) ext=mkv layout=5.1 video=(-c:v libx264 -preset ultrafast) audio=(-c:a ac3 -b:a 448k -ar 48000) ;;
        wmv-wma) ext=wmv layout=stereo video=(-c:v wmv2 -b:v 200k) audio=(-c:a wmav2 -b:a 128k -ar 44100) ;;
        *) die "unknown input kind: $kind" ;;
    esac
    local out="$cache/${kind}-${m}min.$ext"
    if [ ! -s "$out" ]; then
        echo "bench-convert: generating a ${m}-minute $kind video (cached in $out)" >&2
        local exprs=() c
        local channels=2
        [ "$layout" = 5.1 ] && channels=6
        for ((c = 0; c < channels; c++)); do
            exprs+=("0.25*sin(2*PI*($((220 + 55 * c))+30*sin(2*PI*0.$((13 + c))*t))*t)*(0.6+0.4*sin(2*PI*$((1 + c)).5*t))+0.08*(random($c)-0.5)")
        done
        ffmpeg -y -v error -nostdin \
            -f lavfi -i "testsrc2=size=160x120:rate=5" \
            -f lavfi -i "aevalsrc=$(IFS='|'; echo "${exprs[*]}"):s=48000:c=$layout" \
            -t $((m * 60)) "${video[@]}" "${audio[@]}" "$out.part.$ext"
        mv "$out.part.$ext" "$out"
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

for kind in $inputs; do
for m in $minutes; do
    in=$(make_input "$kind" "$m")
    : >"$work/ffmpeg" && : >"$work/ours" && : >"$work/serial"
    tools="ffmpeg ours"
    [ "$serial" = 0 ] || tools="ffmpeg ours serial"
    if ! "${ours[@]}" "$in" "$work/ours.mp3" >/dev/null 2>"$work/err"; then
        echo
        echo "== ${m}-minute $kind video: ours refuses it: $(tail -1 "$work/err") =="
        continue
    fi
    for ((i = 1; i <= runs; i++)); do
        measure ffmpeg -y -v error -nostdin -i "$in" -vn -codec:a libmp3lame -q:a 2 "$work/ffmpeg.mp3" >>"$work/ffmpeg"
        measure "${ours[@]}" "$in" "$work/ours.mp3" >>"$work/ours"
        [ "$serial" = 0 ] || MP3CONVERT_ENCODE_THREADS=1 measure "${ours[@]}" "$in" "$work/serial.mp3" >>"$work/serial"
        echo "bench-convert: $kind ${m} min run $i/$runs: ffmpeg $(tail -1 "$work/ffmpeg"), ours $(tail -1 "$work/ours"), serial $(tail -1 "$work/serial" 2>/dev/null) (wall s, cpu s, KiB)" >&2
    done
    for tool in $tools; do
        for col in 1 2 3; do
            cut -d' ' -f$col "$work/$tool" | median >"$work/$tool.$col"
        done
    done
    echo
    echo "== ${m}-minute $kind video, V2, median of $runs runs =="
    printf '%-8s %10s %10s %14s\n' tool "wall s" "cpu s" "peak RSS MiB"
    for tool in $tools; do
        printf '%-8s %10s %10s %14.1f\n' "$tool" "$(cat "$work/$tool.1")" "$(cat "$work/$tool.2")" \
            "$(awk '{ print $1 / 1024 }' "$work/$tool.3")"
    done
    printf '%-8s %10.3f %10.3f %14.3f\n' "ours/ff" \
        "$(awk -v a="$(cat "$work/ours.1")" -v b="$(cat "$work/ffmpeg.1")" 'BEGIN { print a / b }')" \
        "$(awk -v a="$(cat "$work/ours.2")" -v b="$(cat "$work/ffmpeg.2")" 'BEGIN { print a / b }')" \
        "$(awk -v a="$(cat "$work/ours.3")" -v b="$(cat "$work/ffmpeg.3")" 'BEGIN { print a / b }')"
    if [ "$serial" != 0 ]; then
        printf '%-8s %10.3f %10.3f %14.3f\n' "ours/ser" \
            "$(awk -v a="$(cat "$work/ours.1")" -v b="$(cat "$work/serial.1")" 'BEGIN { print a / b }')" \
            "$(awk -v a="$(cat "$work/ours.2")" -v b="$(cat "$work/serial.2")" 'BEGIN { print a / b }')" \
            "$(awk -v a="$(cat "$work/ours.3")" -v b="$(cat "$work/serial.3")" 'BEGIN { print a / b }')"
    fi
    ff_samples=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/ffmpeg.mp3")
    our_samples=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/ours.mp3")
    echo "output duration: ffmpeg ${ff_samples}s, ours ${our_samples}s; size: ffmpeg $(stat -c %s "$work/ffmpeg.mp3") B, ours $(stat -c %s "$work/ours.mp3") B"
done
done
