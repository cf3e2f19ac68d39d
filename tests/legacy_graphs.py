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
