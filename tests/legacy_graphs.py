"""The filter graphs as the package wrote them by hand before ffmpeg-python built them, kept
verbatim as references: tests/test_ffgraph.py proves each new graph equivalent to its old text
(tests/ffgraph.py) and, run on the same input, byte-identical in output."""
import math

from tower_anime.audio.fit import CUT_SLACK, fit_plan
from tower_anime.media import PCM


def fit_graph(src_seconds, target_seconds, sample_rate, fade, crossfade):
    samples = round(target_seconds * sample_rate)
    repeats, c, joined = fit_plan(src_seconds, target_seconds, crossfade)
    parts = [f"[{i}:a]aresample={sample_rate},aformat=sample_fmts=fltp:channel_layouts=stereo[c{i}]"
             for i in range(repeats)]
    current = "[c0]"
    for i in range(1, repeats):
        parts.append(f"{current}[c{i}]acrossfade=d={c:.4f}:c1=qsin:c2=qsin[x{i}]")
        current = f"[x{i}]"
    tail = [f"atrim=end_sample={samples}"]
    if joined > target_seconds + CUT_SLACK:
        f = min(fade, target_seconds / 3)
        tail.append(f"afade=t=out:st={target_seconds - f:.4f}:d={f:.4f}")
    tail.append(f"apad=whole_len={samples}")
    parts.append(f"{current}{','.join(tail)}[out]")
    return ";".join(parts)


def fit_args(src, part, src_seconds, target_seconds, sample_rate, fade, crossfade):
    repeats = fit_plan(src_seconds, target_seconds, crossfade)[0]
    return [*(["-i", src] * repeats),
            "-filter_complex", fit_graph(src_seconds, target_seconds, sample_rate, fade, crossfade),
            "-map", "[out]", "-ar", sample_rate, "-ac", 2, "-c:a", "pcm_s16le",
            "-fflags", "+bitexact", "-flags:a", "+bitexact", part]


BRIGHTNESS_HZ, WARMTH_HZ = 3000, 250


def shape_filters(voice: dict, sample_rate: int):
    """FFmpeg filters giving a line its character: pitch and timbre (formant shift, shelves)
    and, where the backend did not speak at the character's speed, the tempo. [] for none."""
    pitch = 2 ** (float(voice.get("pitch", 0)) / 12)
    tempo = float(voice.get("tempo", 1.0))
    timbre = voice.get("timbre") or {}
    formant = float(timbre.get("formant", 0))
    chain = []
    if formant:
        # resampled by the formant ratio, everything moves (formants, pitch, tempo); rubberband
        # then takes pitch and tempo back with the formants preserved: only the formants moved
        rate = round(sample_rate * 2 ** (formant / 12))
        ratio = rate / sample_rate
        chain += [f"aresample={sample_rate}", f"asetrate={rate}",
                  f"rubberband=tempo={tempo / ratio:.6f}:pitch={pitch / ratio:.6f}:formant=preserved",
                  f"aresample={sample_rate}"]
    else:
        if pitch != 1:
            chain.append(f"rubberband=pitch={pitch:.6f}")
        if tempo != 1:
            chain.append(f"atempo={tempo:.6f}")
    warmth, brightness = float(timbre.get("warmth", 0)), float(timbre.get("brightness", 0))
    if warmth:
        chain.append(f"lowshelf=g={warmth:g}:f={WARMTH_HZ}")
    if brightness:
        chain.append(f"highshelf=g={brightness:g}:f={BRIGHTNESS_HZ}")
    boost = max(warmth, brightness, 0.0)
    if boost:
        chain.append(f"volume={-boost:g}dB")  # a boosted shelf must not clip; the mix sets the level
    return chain


def post_filter(voice, sample_rate):
    chain = shape_filters(voice, sample_rate)
    chain.append("silenceremove=start_periods=1:start_threshold=-50dB")
    chain.append("areverse,silenceremove=start_periods=1:start_threshold=-50dB,areverse")
    chain.append(f"aresample={sample_rate}")
    return ",".join(chain)


def post_args(raw, part, voice, sample_rate):
    return ["-i", raw, "-af", post_filter(voice, sample_rate), "-ac", "1", "-c:a", "pcm_s16le", part]


def finish_args(raw, tmp, rate, gain, duration, fade_in, fade_out):
    samples = round(duration * rate)
    filters = ",".join([
        f"volume={gain:.2f}dB",
        f"atrim=end_sample={samples}",
        f"apad=whole_len={samples}",
        f"afade=t=in:st=0:d={fade_in:.3f}",
        f"afade=t=out:st={duration - fade_out:.3f}:d={fade_out:.3f}",
    ])
    return ["-f", "f32le", "-ar", rate, "-ac", 2, "-i", raw, "-af", filters,
            "-ar", rate, "-ac", 2, "-c:a", "pcm_s16le",
            "-fflags", "+bitexact", "-flags:a", "+bitexact", tmp]
