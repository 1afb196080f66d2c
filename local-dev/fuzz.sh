#!/usr/bin/env bash
# Fuzzes the media engine: its hand-written demuxers and the whole conversion pipeline
# (cargo-fuzz targets in functions/media/fuzz, nightly toolchain, AddressSanitizer).
#
#   ./local-dev/fuzz.sh [MINUTES_PER_TARGET] [TARGET...]
#
#   MINUTES_PER_TARGET  how long each target runs (default 5)
#   TARGET              mp4_scan, mov_pcm, avi, flv, asf, cut, mpegts, mpegps, frames, wma, convert
#                       (default: all, one after another)
#
#   ./local-dev/fuzz.sh               # 5 minutes for each of the eleven targets
#   ./local-dev/fuzz.sh 30 convert    # half an hour of the whole pipeline
#
# What it does:
# - installs cargo-fuzz (crates.io, into ~/.cargo/bin) if it is missing;
# - once, makes short media files of every container and codec the engine reads with ffmpeg
#   (local-dev/install-deps.sh) into .cache/fuzz/seeds/, plus cut-short copies, and seeds each
#   target's corpus (functions/media/fuzz/corpus/<target>, kept between runs) with the ones
#   it reads;
# - runs each target alone (the machine has few cores), in libFuzzer's fork mode so that it
#   goes on after a finding: an input that crashes, runs > 10 s (-timeout=10), allocates
#   > 64 MiB at once (-malloc_limit_mb=64) or takes the process past its RSS limit
#   (-rss_limit_mb: 128 for the demuxers, 192 for convert — the fuzzer's own baseline plus
#   64 MiB, measured; see functions/media/fuzz/README.md) is a finding;
# - minimises every new finding (cargo fuzz tmin) and copies it to
#   functions/media/tests/fuzz-regressions/<target>-<short sha>.bin, which the test suite
#   replays through the CLI (tests/tests/process/fuzz_regressions.rs); then prints, per
#   target, the executions run, the corpus size and the findings.
#
# FUZZ_RSS_LIMIT_MB (one RSS limit for all), FUZZ_TMIN_RUNS (attempts per minimisation step,
# default 255) and FUZZ_TMIN_SECS (time per finding, default 300) override the defaults.
# libFuzzer's logs and the minimisation logs go to .cache/fuzz/work/.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz_dir="$root/functions/media/fuzz"
cache="$root/.cache/fuzz"
seeds="$cache/seeds"
regressions="$root/functions/media/tests/fuzz-regressions"
all_targets=(mp4_scan mov_pcm avi flv asf cut mpegts mpegps frames wma convert)

minutes="${1:-5}"
[ $# -gt 0 ] && shift
# (0 would be libFuzzer's "no time limit".)
case "$minutes" in '' | *[!0-9]* | 0) echo "fuzz: MINUTES_PER_TARGET must be a whole number ≥ 1, not '$minutes'" >&2; exit 2 ;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: no target '$t' (targets: ${all_targets[*]})" >&2; exit 2; }
done
# -rss_limit_mb per target: the fuzzer's own RSS, measured (AddressSanitizer with a 16 MiB
# quarantine: 38–60 MiB over the demuxers' corpora, 126–141 MiB for the whole pipeline; see
# functions/media/fuzz/README.md), plus the 64 MiB a conversion may use. FUZZ_RSS_LIMIT_MB
# sets one value for all.
declare -A rss_limit=([mp4_scan]=128 [mov_pcm]=128 [avi]=128 [flv]=128 [asf]=128 [cut]=128 [mpegts]=128 [mpegps]=128 [frames]=128 [wma]=128 [convert]=192)
if [ -n "${FUZZ_RSS_LIMIT_MB:-}" ]; then
    for t in "${all_targets[@]}"; do rss_limit[$t]="$FUZZ_RSS_LIMIT_MB"; done
fi
tmin_runs="${FUZZ_TMIN_RUNS:-255}"
tmin_secs="${FUZZ_TMIN_SECS:-300}"
# libFuzzer's limits for target $1, into the array `limits`.
set_limits() { limits=(-rss_limit_mb="${rss_limit[$1]}" -malloc_limit_mb=64 -timeout=10); }

cargo +nightly --version >/dev/null 2>&1 || { echo "fuzz: needs the nightly toolchain (rustup toolchain install nightly)" >&2; exit 1; }
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked
fi
"$root/local-dev/install-deps.sh"

# shellcheck source=local-dev/fuzz-seeds.sh
. "$root/local-dev/fuzz-seeds.sh"
make_seeds "$seeds"

cd "$fuzz_dir"
echo "fuzz: building the targets (release, debug assertions, AddressSanitizer)" >&2
for t in "${targets[@]}"; do cargo +nightly fuzz build -O -a "$t"; done
bin_dir="$fuzz_dir/target/x86_64-unknown-linux-gnu/release"

# A small quarantine, so that the RSS limit measures the code under test, not freed memory
# the sanitizer holds back; dedup tokens, so that minimising keeps to the same bug.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0:quarantine_size_mb=16:dedup_token_length=3"

# A finding's identity: what happened and where — the first frame of libFuzzer's report that is
# neither libFuzzer, the sanitizer, libc nor Rust's std (for a panic: where it panicked) — so
# that one bug found many times is kept once. "none" when the input does not fail (any more).
signature() {
    local out what where limits
    set_limits "$1"
    out="$(cd "$cache/work" && "$bin_dir/$1" "${limits[@]}" -runs=1 "$2" 2>&1)" && { echo none; return; }
    # "deadly signal", "timeout after 10 seconds", "out-of-memory (malloc(N))", "out-of-memory
    # (used: NMb; ...)", "heap-buffer-overflow on address ...": the kind, without the address.
    what="$(sed -nE 's/.*ERROR: (libFuzzer|AddressSanitizer): //p' <<<"$out" | head -1 | sed -E 's/ on (address|unknown address).*//; s/;.*\)/)/')" || true
    where="$(grep -E '^ +#[0-9]+ 0x[0-9a-f]+ in .* /[^ ]+:[0-9]+' <<<"$out" |
        grep -vE ' /rustc/|compiler-rt|libfuzzer-sys|/nptl/|/stdlib/|/assert/|/signal/|/misc/' | head -1 |
        grep -oE '/[^ ]+:[0-9]+' | sed -E 's|.*/registry/src/[^/]+/||; s|^'"$root"'/||')" || true
    echo "${what:-failed}${where:+ at $where}"
}

# The same bug with another allocation size or RSS figure is still the same bug.
dedup_key() { sed -E 's/\((malloc\(|used: )[0-9]+/(\1N/' <<<"$1"; }

# Finding $2 of target $1: unless a regression input already fails the same way, minimised
# (at most FUZZ_TMIN_SECS) into the regression directory. Adds a line to `saved`.
keep() {
    local t="$1" artifact="$2" sig key min limits marker sha dest
    sig="$(signature "$t" "$artifact")"
    key="$(dedup_key "$sig")"
    if [ "$sig" != none ] && [ -n "${known[$key]:-}" ]; then
        saved+=("$(basename "$artifact"): $sig (as ${known[$key]})")
        return
    fi
    set_limits "$t"
    marker="$cache/work/tmin.started"
    touch "$marker"
    timeout -k 10 "$tmin_secs" cargo +nightly fuzz tmin -O -a -r "$tmin_runs" "$t" "$artifact" -- "${limits[@]}" \
        >"$cache/work/tmin-$(basename "$artifact").log" 2>&1 || true
    min="$(find "$(dirname "$artifact")" -maxdepth 1 -name 'minimized-from-*' -newer "$marker" -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2-)"
    if [ -z "$min" ] || [ "$(dedup_key "$(signature "$t" "$min")")" != "$key" ]; then
        min="$artifact"
    fi
    sha="$(sha1sum "$min" | cut -c1-8)"
    dest="$regressions/$t-$sha.bin"
    cp "$min" "$dest"
    [ "$sig" = none ] && sig="does not fail when run alone"
    known[$key]="$(basename "$dest")"
    saved+=("$(basename "$artifact") -> ${dest#"$root"/} ($(stat -c %s "$dest") bytes): $sig")
}

mkdir -p "$regressions" "$cache/work"
summary=()
for t in "${targets[@]}"; do
    declare -A known=()
    for f in "$regressions/$t"-*.bin; do
        [ -f "$f" ] && known[$(dedup_key "$(signature "$t" "$f")")]="$(basename "$f")"
    done
    corpus="$fuzz_dir/corpus/$t"
    artifacts="$fuzz_dir/artifacts/$t"
    if [ ! -d "$corpus" ]; then
        mkdir -p "$corpus"
        seed_corpus "$t" "$seeds" "$corpus"
    fi
    mkdir -p "$artifacts"
    marker="$cache/work/$t.started"
    touch "$marker"
    log="$cache/work/$t.log"
    set_limits "$t"
    echo "fuzz: $t for $minutes min (corpus: $(find "$corpus" -type f | wc -l) files)" >&2
    # Fork mode: the children run the inputs, the parent carries on after a crash, a timeout
    # or an OOM and keeps the corpus. The limits apply to each child.
    (cd "$cache/work" && "$bin_dir/$t" "${limits[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time=$((minutes * 60)) -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus") >"$log" 2>&1 || true
    execs="$(grep -oE '^#[0-9]+: cov' "$log" | tail -1 | tr -dc '0-9')"
    found=()
    while IFS= read -r artifact; do
        found+=("$artifact")
    done < <(find "$artifacts" -maxdepth 1 -type f -newer "$marker" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
    saved=()
    for artifact in "${found[@]}"; do
        keep "$t" "$artifact"
    done
    summary+=("$(printf '%-9s executions: %-10s corpus: %-5s findings: crash %s, timeout %s, oom %s, leak %s' "$t" "${execs:-?}" \
        "$(find "$corpus" -type f | wc -l)" \
        "$(printf '%s\n' "${found[@]}" | grep -c '/crash-' || true)" "$(printf '%s\n' "${found[@]}" | grep -c '/timeout-' || true)" \
        "$(printf '%s\n' "${found[@]}" | grep -c '/oom-' || true)" "$(printf '%s\n' "${found[@]}" | grep -c '/leak-' || true)")")
    for s in "${saved[@]}"; do summary+=("    $s"); done
    unset known
done

echo
echo "fuzz: $minutes min per target, -malloc_limit_mb=64 -timeout=10, -rss_limit_mb: $(for t in "${targets[@]}"; do printf '%s=%s ' "$t" "${rss_limit[$t]}"; done)(logs: .cache/fuzz/work/)"
printf '%s\n' "${summary[@]}"
