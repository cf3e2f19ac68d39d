"""The embedded clips backend: a camera move over the still (Pillow crops piped to libx264).
The move is clips/camera.py; this module declares it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from . import Backend, register


def render(spec: dict, still_path: Path | str, out_path: Path | str, log: TextIO | None = None, **runtime: Any) -> None:
    """Move the camera over still_path for spec['frames'] frames into out_path."""
    from ..clips.camera import render_camera_clip
    from ..clips.faces import voice_files

    render_camera_clip(spec, still_path, out_path, log=log, voices=voice_files(runtime))


def min_frames(fps: int) -> int:
    """The shortest clip that passes its own gate (see clips.camera.MIN_FRAMES)."""
    from ..clips.camera import min_frames as camera_min_frames

    return camera_min_frames(fps)


register(
    Backend(
        stage="clips",
        name="camera",
        render=render,
        code=("backends/camera.py", "clips/camera.py", "clips/faces.py", "episode/placement.py"),
        seeded=False,  # the move depends on the still and the spec, never on a seed
        min_frames=min_frames,
        speech=True,  # mouths move with the shot's voices: its spec carries the lines, its job reads them
    )
)
