"""Fit a music cue to its scene: a longer cue is cut with a fade-out, a shorter one is looped
with equal-power crossfades between repeats, then cut and faded the same way.

Services answer with whatever length their model makes; the mix wants each scene's cue to
be exactly as long as the scene, to the sample.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TextIO

from .. import verify_output
from ..errors import MediaError
from ..fsutil import atomic_path
from ..media import chain, ffmpeg, fx, graph, join, output, source

MAX_REPEATS = 200  # a reply this many times shorter than its scene is not a loop, it is a mistake
CUT_SLACK = 0.01  # seconds: a cue this close to the target ends naturally, without a fade


def fit_plan(src_seconds: float, target_seconds: float, crossfade: float) -> tuple[int, float, float]:
    """(repeats, crossfade seconds, length of the joined material) for a cue and its scene."""
    if src_seconds >= target_seconds:
        return 1, 0.0, src_seconds
    # a crossfade longer than a third of the cue would blur every repeat into the next
    c = min(crossfade, src_seconds / 3)
    repeats = max(2, math.ceil((target_seconds - c) / (src_seconds - c)))
    return repeats, c, repeats * src_seconds - (repeats - 1) * c


def fit_args(
    src: Path | str,
    part: Path | str,
    src_seconds: float,
    target_seconds: float,
    sample_rate: int,
    fade: float,
    crossfade: float,
) -> list[str]:
    """FFmpeg arguments writing `part`: exactly target_seconds of 16-bit stereo at sample_rate.

    The cue is opened once per repeat: acrossfade between two branches of one asplit stops
    after the first branch (FFmpeg 5.1, measured here: a 3 s cue crossfaded with itself came
    out 2 s long), separate inputs join as they should.
    """
    samples = round(target_seconds * sample_rate)
    repeats, c, joined = fit_plan(src_seconds, target_seconds, crossfade)
    if repeats > MAX_REPEATS:
        raise MediaError(f"a {src_seconds:.2f} s cue would need {repeats} repeats to fill {target_seconds:.2f} s")
    # one ffmpeg-python input per repeat (the same file each time: it makes a node per call)
    copies = [
        chain(
            source(src).audio,
            [fx("aresample", sample_rate), fx("aformat", sample_fmts="fltp", channel_layouts="stereo")],
        )
        for _ in range(repeats)
    ]
    current = copies[0]
    for copy in copies[1:]:
        current = join([current, copy], "acrossfade", d=f"{c:.4f}", c1="qsin", c2="qsin")
    tail = [fx("atrim", end_sample=samples)]
    if joined > target_seconds + CUT_SLACK:
        f = min(fade, target_seconds / 3)
        tail.append(fx("afade", t="out", st=f"{target_seconds - f:.4f}", d=f"{f:.4f}"))
    tail.append(fx("apad", whole_len=samples))
    return graph(
        output(
            chain(current, tail),
            part,
            ar=sample_rate,
            ac=2,
            **{"c:a": "pcm_s16le", "fflags": "+bitexact", "flags:a": "+bitexact"},
        )
    )


def fit_to_duration(
    src: Path | str,
    out_wav: Path | str,
    src_seconds: float,
    target_seconds: float,
    sample_rate: int,
    fade: float,
    crossfade: float,
    what: str,
    log: TextIO | None = None,
) -> str:
    """Write `out_wav` (16-bit stereo PCM, atomically): the cue in `src` fitted to target_seconds."""
    repeats, c, _ = fit_plan(src_seconds, target_seconds, crossfade)
    how = (
        f"cut from {src_seconds:.2f} s with a {min(fade, target_seconds / 3):.2f} s fade-out"
        if repeats == 1
        else f"looped {repeats} times with {c:.2f} s crossfades"
    )
    if log is not None:
        print(f"{what}: {how} to {target_seconds:.2f} s", file=log, flush=True)
    samples = round(target_seconds * sample_rate)  # as fit_args cuts and pads it
    with atomic_path(out_wav, check=lambda p: verify_output.wav(p, samples, 2)) as part:
        ffmpeg(fit_args(src, part, src_seconds, target_seconds, sample_rate, fade, crossfade), f"fitting {what}", log)
    return how
