#!/usr/bin/env python3
"""Converts one short file of each container x codec kind and checks it sounds like the source.

For every kind in KINDS: ffmpeg makes a 6-second file (a tiny video stream where the container
carries one, and a test sound whose channels pulse at different times, so a wrong channel
shows), then `mp3convert convert` turns it into an MP3 and ffmpeg does its own conversion of the
same file. The row passes when ours decodes without a warning from ffmpeg, lasts as long as the
source (or as ffmpeg decodes of it) to within one MP3 frame, and each output channel's loudness envelope (RMS over 50 ms) correlates >= 0.9 with
ffmpeg's (at the best offset of up to 100 ms) and is within 3 dB of it. A kind we refuse on purpose is listed with its error code.

    ./local-dev/input-matrix.py [KIND-SUBSTRING ...]

Environment: MP3CONVERT_BIN (default: target/release/mp3convert, built here).
Exit status 1 if any row that should convert did not. Not part of the test command: the engine
tests (functions/media/tests/engine/) check the same things on the kinds that matter most.
"""
import math
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, extension, channel layout, rate, video args, audio args, expected error code or None)
H264 = ["-c:v", "libx264", "-preset", "ultrafast"]
MPEG2 = ["-c:v", "mpeg2video"]
MPEG4 = ["-c:v", "mpeg4"]
FLV1 = ["-c:v", "flv"]
WMV2 = ["-c:v", "wmv2"]
VP8 = ["-c:v", "libvpx", "-deadline", "realtime"]
NONE = []
KINDS = [
    ("mp4-aac", "mp4", "stereo", 44100, H264, ["-c:a", "aac"], None),
    ("mp4-aac-mono-22k", "mp4", "mono", 22050, H264, ["-c:a", "aac"], None),
    ("mp4-aac-5.1", "mp4", "5.1", 48000, H264, ["-c:a", "aac"], None),
    ("mp4-aac-7.1", "mp4", "7.1", 48000, H264, ["-c:a", "aac"], None),
    ("mp4-ac3-5.1", "mp4", "5.1", 48000, H264, ["-c:a", "ac3"], None),
    ("mp4-eac3-5.1", "mp4", "5.1", 48000, H264, ["-c:a", "eac3"], None),
    ("mp4-mp3", "mp4", "stereo", 44100, H264, ["-c:a", "libmp3lame"], None),
    ("mp4-alac", "m4a", "stereo", 44100, NONE, ["-c:a", "alac"], None),
    ("mp4-opus", "mp4", "stereo", 48000, H264, ["-c:a", "libopus"], None),
    ("mp4-flac", "mp4", "stereo", 44100, H264, ["-c:a", "flac", "-strict", "-2"], None),
    ("mov-pcm-s24be", "mov", "stereo", 48000, H264, ["-c:a", "pcm_s24be"], None),
    ("mov-pcm-5.1", "mov", "5.1", 48000, H264, ["-c:a", "pcm_s16le"], None),
    ("mov-ima4", "mov", "stereo", 44100, H264, ["-c:a", "adpcm_ima_qt"], "unsupported_codec"),
    ("3gp-aac-mono", "3gp", "mono", 16000, H264, ["-c:a", "aac"], None),
    ("mkv-ac3-5.1", "mkv", "5.1", 48000, H264, ["-c:a", "ac3"], None),
    ("mkv-eac3-5.1", "mkv", "5.1", 48000, H264, ["-c:a", "eac3"], None),
    ("mkv-dts-5.1", "mkv", "5.1", 48000, H264, ["-c:a", "dca", "-strict", "-2"], None),
    ("mkv-vorbis-5.1", "mkv", "5.1", 48000, H264, ["-c:a", "libvorbis"], None),
    ("mkv-opus-7.1", "mkv", "7.1", 48000, H264, ["-c:a", "libopus"], None),
    ("mkv-flac-24-5.1", "mkv", "5.1", 48000, H264, ["-c:a", "flac", "-sample_fmt", "s32"], None),
    ("mkv-mp2", "mkv", "stereo", 48000, H264, ["-c:a", "mp2"], None),
    ("mkv-aac-7.1", "mkv", "7.1", 48000, H264, ["-c:a", "aac"], None),
    ("mkv-pcm-s24", "mkv", "stereo", 96000, H264, ["-c:a", "pcm_s24le"], None),
    ("mkv-alac", "mkv", "stereo", 44100, H264, ["-c:a", "alac"], None),
    ("webm-opus-5.1", "webm", "5.1", 48000, VP8, ["-c:a", "libopus"], None),
    ("webm-vorbis", "webm", "stereo", 44100, VP8, ["-c:a", "libvorbis"], None),
    ("ts-aac", "ts", "stereo", 48000, MPEG2, ["-c:a", "aac"], None),
    ("ts-aac-latm", "ts", "stereo", 48000, MPEG2, ["-c:a", "aac", "-mpegts_flags", "latm"], None),
    ("ts-aac-5.1", "ts", "5.1", 48000, MPEG2, ["-c:a", "aac"], None),
    ("ts-mp2", "ts", "stereo", 48000, MPEG2, ["-c:a", "mp2"], None),
    ("ts-mp2-mono", "ts", "mono", 48000, MPEG2, ["-c:a", "mp2", "-b:a", "128k"], None),
    ("ts-mp3", "ts", "stereo", 44100, MPEG2, ["-c:a", "libmp3lame"], None),
    ("ts-ac3-5.1", "ts", "5.1", 48000, MPEG2, ["-c:a", "ac3"], None),
    ("ts-eac3-5.1", "ts", "5.1", 48000, MPEG2, ["-c:a", "eac3"], None),
    ("ts-dts-5.1", "ts", "5.1", 48000, MPEG2, ["-c:a", "dca", "-strict", "-2"], None),
    ("ts-opus", "ts", "stereo", 48000, MPEG2, ["-c:a", "libopus"], "unsupported_codec"),
    ("m2ts-ac3-5.1", "m2ts", "5.1", 48000, H264, ["-c:a", "ac3"], None),
    ("m2ts-aac", "m2ts", "stereo", 48000, H264, ["-c:a", "aac"], None),
    ("mpg-mp2", "mpg", "stereo", 44100, MPEG2, ["-c:a", "mp2"], None),
    ("mpg-mp2-48k", "mpg", "stereo", 48000, MPEG2, ["-c:a", "mp2"], None),
    ("mpg-mp3", "mpg", "stereo", 44100, MPEG2, ["-c:a", "libmp3lame"], None),
    ("vob-ac3-5.1", "vob", "5.1", 48000, MPEG2, ["-c:a", "ac3"], None),
    ("vob-mp2", "vob", "stereo", 48000, MPEG2, ["-c:a", "mp2"], None),
    ("vob-dts-5.1", "vob", "5.1", 48000, MPEG2, ["-c:a", "dca", "-strict", "-2"], None),
    ("vob-lpcm", "vob", "stereo", 48000, MPEG2, ["-c:a", "pcm_dvd"], None),
    ("flv-aac", "flv", "stereo", 44100, FLV1, ["-c:a", "aac"], None),
    ("flv-mp3", "flv", "stereo", 44100, FLV1, ["-c:a", "libmp3lame"], None),
    ("flv-mp3-22k-mono", "flv", "mono", 22050, FLV1, ["-c:a", "libmp3lame"], None),
    ("flv-h264-aac", "flv", "stereo", 48000, H264, ["-c:a", "aac"], None),
    ("flv-pcm", "flv", "stereo", 44100, FLV1, ["-c:a", "pcm_s16le"], None),
    ("flv-adpcm", "flv", "stereo", 44100, FLV1, ["-c:a", "adpcm_swf"], "unsupported_codec"),
    ("avi-mp3", "avi", "stereo", 44100, MPEG4, ["-c:a", "libmp3lame"], None),
    ("avi-mp3-cbr", "avi", "stereo", 44100, MPEG4, ["-c:a", "libmp3lame", "-b:a", "128k"], None),
    ("avi-mp2", "avi", "stereo", 48000, MPEG4, ["-c:a", "mp2"], None),
    ("avi-ac3-5.1", "avi", "5.1", 48000, MPEG4, ["-c:a", "ac3"], None),
    ("avi-dts-5.1", "avi", "5.1", 48000, MPEG4, ["-c:a", "dca", "-strict", "-2"], None),
    ("avi-aac", "avi", "stereo", 44100, MPEG4, ["-c:a", "aac"], None),
    ("avi-ima-adpcm", "avi", "stereo", 44100, MPEG4, ["-c:a", "adpcm_ima_wav"], None),
    ("avi-ms-adpcm", "avi", "stereo", 22050, MPEG4, ["-c:a", "adpcm_ms"], None),
    ("avi-pcm-u8", "avi", "mono", 11025, MPEG4, ["-c:a", "pcm_u8"], None),
    ("avi-pcm-5.1", "avi", "5.1", 48000, MPEG4, ["-c:a", "pcm_s16le"], None),
    ("avi-alaw", "avi", "mono", 8000, MPEG4, ["-c:a", "pcm_alaw"], None),
    ("avi-mulaw", "avi", "mono", 8000, MPEG4, ["-c:a", "pcm_mulaw"], None),
    ("asf-wmav2", "wmv", "stereo", 44100, WMV2, ["-c:a", "wmav2"], None),
    ("asf-wmav2-48k", "wma", "stereo", 48000, NONE, ["-c:a", "wmav2", "-b:a", "192k"], None),
    ("asf-wmav2-mono-22k", "wma", "mono", 22050, NONE, ["-c:a", "wmav2", "-b:a", "32k"], None),
    ("asf-wmav2-32kbps", "wma", "stereo", 44100, NONE, ["-c:a", "wmav2", "-b:a", "32k"], None),
    ("asf-wmav2-32k", "wma", "stereo", 32000, NONE, ["-c:a", "wmav2"], None),
    ("asf-wmav2-mono-16k", "wma", "mono", 16000, NONE, ["-c:a", "wmav2", "-b:a", "24k"], None),
    ("asf-wmav1", "wma", "stereo", 44100, NONE, ["-c:a", "wmav1"], None),
    ("asf-wmav1-wmv", "wmv", "stereo", 32000, WMV2, ["-c:a", "wmav1", "-b:a", "64k"], None),
    ("asf-mp3", "asf", "stereo", 44100, WMV2, ["-c:a", "libmp3lame"], None),
    ("asf-pcm", "asf", "stereo", 44100, WMV2, ["-c:a", "pcm_s16le"], None),
    ("ogg-vorbis", "ogg", "stereo", 44100, NONE, ["-c:a", "libvorbis"], None),
    ("ogg-opus-mono", "opus", "mono", 48000, NONE, ["-c:a", "libopus"], None),
    ("ogg-flac", "oga", "stereo", 44100, NONE, ["-c:a", "flac"], None),
    ("wav-s16", "wav", "stereo", 44100, NONE, ["-c:a", "pcm_s16le"], None),
    ("wav-f32-5.1", "wav", "5.1", 48000, NONE, ["-c:a", "pcm_f32le"], None),
    ("wav-ima-adpcm", "wav", "stereo", 44100, NONE, ["-c:a", "adpcm_ima_wav"], None),
    ("wav-ms-adpcm", "wav", "mono", 22050, NONE, ["-c:a", "adpcm_ms"], None),
    ("aiff-s16", "aiff", "stereo", 44100, NONE, ["-c:a", "pcm_s16be"], None),
    ("caf-alac", "caf", "stereo", 44100, NONE, ["-c:a", "alac"], None),
    ("flac-7.1", "flac", "7.1", 48000, NONE, ["-c:a", "flac"], None),
    ("adts-aac", "aac", "stereo", 44100, NONE, ["-c:a", "aac"], None),
    ("mp3", "mp3", "stereo", 44100, NONE, ["-c:a", "libmp3lame"], None),
    ("mp2", "mp2", "stereo", 48000, NONE, ["-c:a", "mp2"], None),
    ("ac3-5.1", "ac3", "5.1", 48000, NONE, ["-c:a", "ac3"], None),
    ("eac3-5.1", "eac3", "5.1", 48000, NONE, ["-c:a", "eac3"], None),
    ("dts-5.1", "dts", "5.1", 48000, NONE, ["-c:a", "dca", "-strict", "-2"], None),
    ("nut-pcm", "nut", "stereo", 44100, NONE, ["-c:a", "pcm_s16le"], "unsupported_format"),
    ("au-pcm", "au", "mono", 8000, NONE, ["-c:a", "pcm_mulaw"], "unsupported_format"),
]

CHANNELS = {"mono": 1, "stereo": 2, "5.1": 6, "7.1": 8}


def run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def source(layout, rate):
    """A sound whose channel c is loud in quarter-second slot c (mod the channel count)."""
    n = CHANNELS[layout]
    slots = max(n, 2)
    exprs = "|".join(
        f"(0.1+0.4*eq(mod(floor(t*4)\\,{slots})\\,{c}))*sin(2*PI*{220 + 110 * c}*t)" for c in range(n)
    )
    return ["-f", "lavfi", "-i", f"aevalsrc=exprs='{exprs}':s={rate}:d=6:c={layout}"]


def planar(path, channels=2, rate=44100):
    res = run(["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:a:0", "-ac", str(channels),
               "-ar", str(rate), "-f", "s16le", "-"])
    if res.returncode != 0:
        return None, res.stderr.decode(errors="replace").strip()
    data = struct.unpack(f"<{len(res.stdout) // 2}h", res.stdout[: len(res.stdout) // 2 * 2])
    return [data[c::channels] for c in range(channels)], res.stderr.decode(errors="replace").strip()


def envelope(samples, rate=44100):
    w = rate // 20
    return [math.sqrt(sum(s * s for s in samples[i:i + w]) / w) / 32768 for i in range(0, len(samples) - w + 1, w)]


def correlation(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else 0.0


def best_correlation(a, b, max_lag=2):
    """The correlation at the best offset of at most max_lag windows either way: decoders differ
    in the lead-in they drop (ffmpeg's WMA decoder drops the source's first frame, up to 64 ms)."""
    return max(correlation(a[lag:], b) if lag >= 0 else correlation(a, b[-lag:]) for lag in range(-max_lag, max_lag + 1))


def level_db(env):
    rms = math.sqrt(sum(e * e for e in env) / max(len(env), 1))
    return 20 * math.log10(max(rms, 1e-9))


def check(kind, work, binary):
    name, ext, layout, rate, video, audio, expected = kind
    src = os.path.join(work, f"{name}.{ext}")
    vid = ["-f", "lavfi", "-i", "testsrc=s=160x120:r=15:d=6"] + video + ["-pix_fmt", "yuv420p"] if video else []
    muxer = ["-f", "mpegts", "-mpegts_m2ts_mode", "1"] if ext == "m2ts" else (["-f", "vob"] if ext == "vob" else [])
    made = run(["ffmpeg", "-v", "error", "-nostdin", "-y"] + source(layout, rate) + vid
               + ["-ac", str(CHANNELS[layout])] + audio + ["-shortest"] + muxer + [src])
    if made.returncode != 0:
        return "skip", "ffmpeg cannot make it: " + made.stderr.decode(errors="replace").strip().splitlines()[-1]
    ours = os.path.join(work, f"{name}.ours.mp3")
    theirs = os.path.join(work, f"{name}.ffmpeg.mp3")
    res = run(binary + ["convert", src, ours])
    if res.returncode != 0:
        err = res.stderr.decode(errors="replace")
        if expected and expected in err:
            return "refused", f"{expected} (as intended)"
        return "FAIL", "exit %d: %s" % (res.returncode, err.strip().splitlines()[-1] if err.strip() else "")
    note = f"converts (expected {expected})" if expected else ""
    made = run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", src, "-map", "0:a:0", "-ac", "2",
                "-c:a", "libmp3lame", "-q:a", "2", theirs])
    if made.returncode != 0:
        return "skip", "ffmpeg cannot convert it"
    a, warn = planar(ours)
    b, _ = planar(theirs)
    if a is None:
        return "FAIL", "our MP3 does not decode: " + warn
    if warn:
        return "FAIL", "ffmpeg warns decoding our MP3: " + warn.splitlines()[0]
    # The source is 6 s long; a container without gapless information (ADTS, TS) may decode
    # longer in ffmpeg too, by its codec's priming, so either length passes.
    decoded, _ = planar(src, 1)
    lengths = [6 * 44100, len(decoded[0]) if decoded else 6 * 44100]
    if all(abs(len(a[0]) - n) > 1152 for n in lengths):
        return "FAIL", f"length {len(a[0]) / 44100:.3f} s, the source {lengths[0] / 44100:.3f} s (ffmpeg decodes {lengths[1] / 44100:.3f} s)"
    parts = []
    worst = "ok"
    for c in range(2):
        ea, eb = envelope(a[c]), envelope(b[c])
        corr = best_correlation(ea, eb)
        diff = level_db(ea) - level_db(eb)
        parts.append(f"{'LR'[c]} corr {corr:.3f} {diff:+.1f} dB")
        if corr < 0.9 or abs(diff) > 3:
            worst = "FAIL"
    return worst, ", ".join(parts) + (f"; {note}" if note else "")


def main():
    wanted = sys.argv[1:]
    binary = os.environ.get("MP3CONVERT_BIN")
    if binary:
        binary = binary.split()
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--locked", "--bin", "mp3convert"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = [os.path.join(target, "release", "mp3convert")]
    failed = 0
    with tempfile.TemporaryDirectory() as work:
        for kind in KINDS:
            if wanted and not any(w in kind[0] for w in wanted):
                continue
            status, detail = check(kind, work, binary)
            failed += status == "FAIL"
            print(f"{kind[0]:<20} {status:<8} {detail}", flush=True)
    print(f"input-matrix: {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
