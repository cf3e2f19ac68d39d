"""Fit a music cue to its scene: a longer cue is cut with a fade-out, a shorter one is looped
with equal-power crossfades between repeats, then cut and faded the same way.

Services answer with whatever length their model makes; the mix wants each scene's cue to
be exactly as long as the scene, to the sample.
"""
import math

from ..errors import MediaError
from .. import verify_output
from ..fsutil import atomic_path
from ..media import ffmpeg

MAX_REPEATS = 200     # a reply this many times shorter than its scene is not a loop, it is a mistake
CUT_SLACK = 0.01      # seconds: a cue this close to the target ends naturally, without a fade


def fit_plan(src_seconds, target_seconds, crossfade):
    """(repeats, crossfade seconds, length of the joined material) for a cue and its scene."""
    if src_seconds >= target_seconds:
        return 1, 0.0, src_seconds
    # a crossfade longer than a third of the cue would blur every repeat into the next
    c = min(crossfade, src_seconds / 3)
    repeats = max(2, math.ceil((target_seconds - c) / (src_seconds - c)))
    return repeats, c, repeats * src_seconds - (repeats - 1) * c


def fit_graph(src_seconds, target_seconds, sample_rate, fade, crossfade):
    """filter_complex text to [out]: exactly target_seconds of stereo at sample_rate.

    Inputs 0..repeats-1 are the same cue, opened once per repeat: acrossfade between two
    branches of one asplit stops after the first branch (FFmpeg 5.1, measured here: a 3 s cue
    crossfaded with itself came out 2 s long), separate inputs join as they should.
    """
    samples = round(target_seconds * sample_rate)
    repeats, c, joined = fit_plan(src_seconds, target_seconds, crossfade)
    if repeats > MAX_REPEATS:
        raise MediaError(f"a {src_seconds:.2f} s cue would need {repeats} repeats to fill {target_seconds:.2f} s")
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


def fit_to_duration(src, out_wav, src_seconds, target_seconds, sample_rate, fade, crossfade, what, log=None):
    """Write `out_wav` (16-bit stereo PCM, atomically): the cue in `src` fitted to target_seconds."""
    repeats, c, _ = fit_plan(src_seconds, target_seconds, crossfade)
    how = (f"cut from {src_seconds:.2f} s with a {min(fade, target_seconds / 3):.2f} s fade-out"
           if repeats == 1 else f"looped {repeats} times with {c:.2f} s crossfades")
    if log is not None:
        print(f"{what}: {how} to {target_seconds:.2f} s", file=log, flush=True)
    samples = round(target_seconds * sample_rate)  # as fit_graph cuts and pads it
    with atomic_path(out_wav, check=lambda p: verify_output.wav(p, samples, 2)) as part:
        ffmpeg([*(["-i", src] * repeats),
                "-filter_complex", fit_graph(src_seconds, target_seconds, sample_rate, fade, crossfade),
                "-map", "[out]", "-ar", sample_rate, "-ac", 2, "-c:a", "pcm_s16le",
                "-fflags", "+bitexact", "-flags:a", "+bitexact", part], f"fitting {what}", log)
    return how
