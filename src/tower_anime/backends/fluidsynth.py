"""The embedded music backend: a cue composed from the scene's mood (MIDI) and rendered with
FluidSynth and a General MIDI soundfont. The composer is audio/music.py; this module declares it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from . import Backend, register


def render(
    spec: dict,
    out_wav: Path | str,
    log: TextIO | None = None,
    soundfonts: Iterable[Path | str] | None = None,
    **runtime: Any,
) -> None:
    """Compose and render the scene's cue, exactly spec['duration'] long (same seed, same cue)."""
    from ..audio.music import find_soundfont, render_cue

    render_cue(spec, out_wav, find_soundfont(soundfonts), log=log)


register(
    Backend(
        stage="music",
        name="fluidsynth",
        render=render,
        code=("backends/fluidsynth.py", "audio/music.py"),
    )
)
