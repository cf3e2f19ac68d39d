"""Stills stage: one frame per shot, by the backend the config names (see tower_anime.backends)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .. import backends


def register(name: str, render: Callable[..., None], caption_fraction: float = 0.0) -> None:
    """Add a stills backend (the older plugin call; backends.register takes the whole
    declaration): render(spec, out_path, log=None, **runtime) writes the still atomically."""
    backends.register(backends.Backend(stage="stills", name=name, render=render, caption_fraction=caption_fraction))


def caption_height(backend: str, height: int) -> int:
    """Pixels at the top of a still that clips should hold static (even, for yuv420p)."""
    return backends.get("stills", backend).caption_height(height)


def render_still(spec: dict, out_path: str | Path, log: TextIO | None = None, **runtime: Any) -> None:
    """runtime: what a backend needs that never shapes the picture (comfyui: the workflow
    template's path, and the config for servers and timeouts)."""
    backends.get("stills", spec["backend"]).render(spec, out_path, log=log, **runtime)
