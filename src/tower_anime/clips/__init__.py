"""Clips stage: a moving shot from each still, by the backend the config names (see
tower_anime.backends)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .. import backends


def register(
    name: str, render: Callable[..., None], seeded: bool = True, min_frames: Callable[[int], int] | None = None
) -> None:
    """Add a clips backend (the older plugin call; backends.register takes the whole
    declaration): render(spec, still_path, out_path, log=None, **runtime) writes the clip
    atomically; min_frames(fps): the shortest shot it can make."""
    backends.register(backends.Backend(stage="clips", name=name, render=render, seeded=seeded, min_frames=min_frames))


def render_clip(
    spec: dict, still_path: str | Path, out_path: str | Path, log: TextIO | None = None, **runtime: Any
) -> None:
    """runtime: what a backend needs that never shapes the clip (see stills.render_still)."""
    backends.get("clips", spec["backend"]).render(spec, still_path, out_path, log=log, **runtime)
