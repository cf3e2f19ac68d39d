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


def _shape(spec: dict, where: Any) -> dict:
    """The scene's music text shapes this composer only when its mood names no mood the
    composer knows (audio/music.py: profile_for): otherwise an edit to it would re-render
    the same cue."""
    from ..audio.moods import match_mood

    if match_mood(spec.get("mood")) is None:
        return spec
    return {k: v for k, v in spec.items() if k != "cue"}


register(
    Backend(
        stage="music",
        name="fluidsynth",
        render=render,
        shape=_shape,
        code=("backends/fluidsynth.py", "audio/music.py", "audio/moods.py"),
    )
)
