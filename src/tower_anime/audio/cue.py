"""The music stage: one cue per scene from the scene's music backend (backends/: fluidsynth
composes and renders it here, http asks the user's music service and fits its answer)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from .. import backends


def make_cue(
    spec: dict,
    out_wav: Path | str,
    soundfonts: Iterable[Path | str] | None = None,
    transport: dict | None = None,
    log: TextIO | None = None,
    **runtime: Any,
) -> None:
    """Write the scene's cue to `out_wav`: exactly spec["duration"] seconds, 48 kHz stereo."""
    backend = backends.get("music", spec["backend"])
    backend.render(spec, out_wav, log=log, soundfonts=soundfonts, transport=transport, **runtime)
