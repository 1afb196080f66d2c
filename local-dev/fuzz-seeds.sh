# The fuzz targets' seed inputs: sourced by local-dev/fuzz.sh.
#
# Short files (0.5–1 s, mono or stereo, 8–16 kHz: a few KB to ~60 KB, so each execution stays
# fast) of every container and codec the engine reads, made with ffmpeg as the engine's tests
# make theirs (functions/media/tests/engine/formats.rs), and cut-short copies of some.

# Bump when the list changes: the seeds are made again (corpora already seeded are kept).
seeds_version=7

# name|ffmpeg output options (the input is a sine; names with "video" also get a small video).
seed_specs=(
    "mp4-aac-video.mp4|-c:v mpeg4 -c:a aac -b:a 24k -shortest"
    "mp4-aac-faststart.mp4|-c:a aac -b:a 24k -movflags +faststart -metadata title=Seed -metadata artist=Fuzz"
    "mp4-aac-fragmented.mp4|-c:a aac -b:a 24k -movflags frag_keyframe+empty_moov"
    "m4a-aac-8k.m4a|-c:a aac -b:a 16k -ar 8000"
    "m4a-alac.m4a|-c:a alac -t 0.5"
    "mov-alac-stereo.mov|-c:a alac -ac 2 -ar 8000 -t 0.5"
    "mov-aac-video.mov|-c:v mpeg4 -c:a aac -b:a 24k -shortest"
    "mov-pcm-s16le-stereo.mov|-c:a pcm_s16le -ac 2 -ar 8000"
    "mov-pcm-s16be-video.mov|-c:v mpeg4 -c:a pcm_s16be -ar 8000 -shortest"
    "mov-pcm-s24le.mov|-c:a pcm_s24le -ar 8000"
    "mov-pcm-f32le.mov|-c:a pcm_f32le -ar 8000 -t 0.5"
    "mkv-opus.mkv|-c:a libopus -b:a 16k"
    "mkv-vorbis-video.mkv|-c:v mpeg4 -c:a libvorbis -shortest"
    "mkv-flac-stereo.mkv|-c:a flac -ac 2 -ar 8000"
    "webm-opus.webm|-c:a libopus -b:a 16k"
    "webm-vorbis.webm|-c:a libvorbis -ac 2"
    "ogg-vorbis.ogg|-c:a libvorbis"
    "ogg-opus.opus|-c:a libopus -b:a 16k -metadata title=Seed"
    "ogg-flac.oga|-c:a flac -ar 8000"
    "wav-s16.wav|-c:a pcm_s16le"
    "wav-s24-stereo.wav|-c:a pcm_s24le -ac 2 -ar 8000"
    "wav-f32.wav|-c:a pcm_f32le -ar 8000"
    "wav-u8.wav|-c:a pcm_u8 -ar 8000"
    "wav-alaw.wav|-c:a pcm_alaw -ar 8000"
    "wav-mulaw.wav|-c:a pcm_mulaw -ar 8000"
    "wav-adpcm-ima.wav|-c:a adpcm_ima_wav -ar 8000"
    "wav-adpcm-ms.wav|-c:a adpcm_ms -ar 8000"
    "aiff-s16be.aiff|-c:a pcm_s16be -ar 8000 -metadata title=Seed"
    "aifc-f32be.aiff|-c:a pcm_f32be -ar 8000 -t 0.5"
    "caf-s16le.caf|-c:a pcm_s16le -ar 8000"
    "caf-alac.caf|-c:a alac -ar 8000"
    "flac-stereo.flac|-c:a flac -ac 2 -metadata title=Seed -metadata artist=Fuzz"
    "mp3-cbr.mp3|-c:a libmp3lame -b:a 32k -metadata title=Seed"
    "mp3-vbr-stereo.mp3|-c:a libmp3lame -q:a 6 -ac 2 -ar 8000"
    "mkv-mp2.mkv|-c:a mp2 -t 0.5"
    "mkv-ac3-51.mkv|-c:a ac3 -ac 6 -ar 48000 -b:a 192k -t 0.5"
    "mp4-eac3.mp4|-c:a eac3 -ac 2 -ar 32000 -t 0.5"
    "mkv-dts.mkv|-strict -2 -c:a dca -ar 48000 -ac 2 -t 0.5"
    "mp4-aac-51.mp4|-c:a aac -ac 6 -b:a 64k -t 0.5"
    "aac-adts.aac|-c:a aac -b:a 24k"
    "ogg-opus-51.opus|-c:a libopus -ac 6 -b:a 64k -t 0.5"
    "avi-pcm-s16.avi|-c:a pcm_s16le -ar 8000"
    "avi-pcm-s24-stereo.avi|-c:a pcm_s24le -ac 2 -ar 8000 -t 0.5"
    "avi-pcm-video.avi|-c:v mpeg4 -c:a pcm_s16le -ar 8000 -shortest"
    "avi-mp3-video.avi|-c:v mpeg4 -c:a libmp3lame -b:a 32k -shortest"
    "avi-mp2.avi|-c:a mp2 -b:a 64k"
    "avi-adpcm-ima.avi|-c:a adpcm_ima_wav -ar 8000"
    "avi-adpcm-ms.avi|-c:a adpcm_ms -ar 8000"
    "avi-aac.avi|-c:a aac -b:a 24k"
    "avi-ac3.avi|-c:a ac3 -b:a 64k -ar 48000 -t 0.5"
    "flv-aac.flv|-c:a aac -b:a 24k"
    "flv-mp3-video.flv|-c:v flv -c:a libmp3lame -b:a 32k -ar 22050 -shortest"
    "flv-pcm.flv|-c:a pcm_s16le -ar 11025"
    "wmv-wmav2-video.wmv|-c:v wmv2 -c:a wmav2 -ar 44100 -b:a 64k -shortest"
    "wma-wmav2-mono-22k.wma|-c:a wmav2 -ac 1 -ar 22050 -b:a 32k -t 0.5"
    "wma-wmav2-noise.wma|-c:a wmav2 -ar 44100 -b:a 32k -t 0.5"
    "wma-wmav1.wma|-c:a wmav1 -b:a 32k"
    "wma-wmav2-32k-stereo.wma|-c:a wmav2 -ac 2 -ar 32000 -b:a 64k -t 0.5"
    "mkv-wmav2.mkv|-c:a wmav2 -b:a 32k -t 0.5"
    "asf-mp3.asf|-c:a libmp3lame -b:a 32k"
    "mov-pcm-5.1.mov|-ac 6 -c:a pcm_s16le -ar 8000 -t 0.5"
    "mov-lpcm-96k.mov|-c:a pcm_s16le -ar 96000 -t 0.1"
    "ts-aac-video.ts|-c:v mpeg2video -r 25 -c:a aac -b:a 24k -shortest"
    "ts-latm.ts|-c:a aac -b:a 24k -mpegts_flags latm"
    "ts-mp2.ts|-c:a mp2 -b:a 32k"
    "ts-mp3.ts|-c:a libmp3lame -b:a 32k"
    "ts-ac3.ts|-c:a ac3 -ar 48000 -b:a 64k -t 0.5"
    "ts-eac3-dvb.ts|-c:a eac3 -ar 48000 -b:a 64k -t 0.5 -mpegts_flags system_b"
    "ts-dts.ts|-c:a dca -strict -2 -ar 48000 -t 0.2"
    "m2ts-aac.m2ts|-c:a aac -b:a 24k -mpegts_m2ts_mode 1"
    "m2ts-lpcm.m2ts|-c:a pcm_bluray -ar 48000 -t 0.2 -mpegts_m2ts_mode 1"
    "mpg-mp2-video.mpg|-c:v mpeg1video -r 25 -c:a mp2 -b:a 32k -f mpeg -shortest"
    "vob-mp2.vob|-c:a mp2 -ar 48000 -b:a 64k -f vob -t 0.5"
    "vob-lpcm.vob|-c:a pcm_dvd -ar 48000 -t 0.2 -f vob"
    "vob-lpcm24-stereo.vob|-c:a pcm_dvd -sample_fmt s32 -ar 48000 -ac 2 -t 0.1 -f vob"
    "vob-ac3.vob|-c:a ac3 -ar 48000 -b:a 64k -f vob -t 0.5"
    "es-adts.aac|-c:a aac -b:a 24k -f adts"
    "es-latm.latm|-c:a aac -b:a 24k -f latm"
    "es-ac3.ac3|-c:a ac3 -ar 48000 -b:a 64k -t 0.3 -f ac3"
    "es-eac3.eac3|-c:a eac3 -ar 48000 -b:a 64k -t 0.3 -f eac3"
    "es-dts.dts|-c:a dca -strict -2 -ar 48000 -t 0.1 -f dts"
)

# Seeds cut to their first half: a container that claims more than the file holds.
cut_seeds=(mp4-aac-video.mp4 mp4-aac-faststart.mp4 mov-pcm-s16le-stereo.mov mkv-opus.mkv mkv-flac-stereo.mkv
    webm-vorbis.webm ogg-vorbis.ogg wav-s16.wav flac-stereo.flac mp3-cbr.mp3 avi-pcm-s16.avi caf-s16le.caf
    avi-mp3-video.avi flv-mp3-video.flv asf-mp3.asf ts-aac-video.ts vob-mp2.vob)

# Makes the seeds into $1, once (per seeds_version).
make_seeds() {
    local dir="$1" spec name opts src
    [ "$(cat "$dir/.version" 2>/dev/null)" = "$seeds_version" ] && return 0
    echo "fuzz: making seed media in ${dir#"$root"/}" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    for spec in "${seed_specs[@]}"; do
        name="${spec%%|*}"
        read -r -a opts <<<"${spec#*|}"
        src=(-f lavfi -i "sine=frequency=440:sample_rate=16000:duration=1")
        [[ "$name" == *video* ]] && src+=(-f lavfi -i "testsrc=size=32x24:rate=5:duration=1")
        ffmpeg -v error -y -nostdin "${src[@]}" "${opts[@]}" "$dir/$name"
    done
    for name in "${cut_seeds[@]}"; do
        head -c "$(($(stat -c %s "$dir/$name") / 2))" "$dir/$name" >"$dir/cut-$name"
    done
    echo "$seeds_version" >"$dir/.version"
}

# Copies into corpus $3 the seeds from $2 that target $1 reads.
seed_corpus() {
    local target="$1" dir="$2" corpus="$3" pattern
    case "$target" in
        mp4_scan | mov_pcm) pattern='.*\.\(mp4\|m4a\|mov\)' ;;
        avi) pattern='.*\.avi' ;;
        flv) pattern='.*\.flv' ;;
        asf) pattern='.*\.\(asf\|wma\|wmv\)' ;;
        cut) pattern='.*\.\(mkv\|webm\)' ;;
        mpegts) pattern='.*\.\(ts\|m2ts\)' ;;
        mpegps) pattern='.*\.\(mpg\|vob\)' ;;
        frames) pattern='.*\.\(aac\|latm\|ac3\|eac3\|dts\|mp3\)' ;;
        wma)
            wma_seeds "$dir" "$corpus"
            return
            ;;
        *) pattern='.*' ;;
    esac
    find "$dir" -maxdepth 1 -type f -regex "$pattern" ! -name '.*' -exec cp -t "$corpus" {} +
}

# Seeds for the wma target (media::fuzzing::wma): each WMA seed's packets after the two bytes
# that pick its format, and again with the bit reservoir and variable block sizes switched on.
wma_seeds() {
    local dir="$1" corpus="$2" f key value codec rate channels bit_rate pick rates=(8000 11025 16000 22050 32000 44100 48000 50000) i
    for f in "$dir"/*.wma "$dir"/*.wmv "$dir"/mkv-wmav2.mkv; do
        [ -f "$f" ] || continue
        codec='' rate='' channels='' bit_rate=''
        while IFS='=' read -r key value; do
            case "$key" in codec_name) codec="$value" ;; sample_rate) rate="$value" ;; channels) channels="$value" ;; bit_rate) bit_rate="$value" ;; esac
        done < <(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,sample_rate,channels,bit_rate -of default=nw=1 "$f")
        [[ "$codec" == wmav[12] && "$bit_rate" =~ ^[0-9]+$ ]] || continue
        pick=0
        for i in "${!rates[@]}"; do [ "${rates[$i]}" = "$rate" ] && pick=$i; done
        [ "$channels" = 2 ] && pick=$((pick | 8))
        [ "$codec" = wmav1 ] && pick=$((pick | 16))
        for extra in 0 96; do
            { printf "\\$(printf '%03o' $((pick | extra)))\\$(printf '%03o' $((bit_rate / 1000 - 1)))"
                ffmpeg -v error -nostdin -i "$f" -map 0:a -c copy -f data -; } >"$corpus/$(basename "$f").$extra.bin"
        done
    done
}
