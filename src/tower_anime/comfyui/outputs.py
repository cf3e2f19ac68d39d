"""Checks of what a server sends back, before it is moved into stills/ or clips/."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

from PIL import Image, UnidentifiedImageError

from ..errors import MediaError
from ..media import count_frames, ffmpeg, probe
from .errors import BadOutput

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")
# The trim re-encodes at the camera backend's quality (clips/camera.py), far above the
# episode's own encode, so the extra generation is not visible.
TRIM_CRF, TRIM_PRESET = 18, "veryfast"


def pick(files: Sequence[dict[str, Any]], stage: str, what: str) -> dict[str, Any]:
    """The file of the asked kind among a save node's outputs."""
    suffixes = (".png",) if stage == "still" else VIDEO_SUFFIXES
    for item in files:
        if Path(item["filename"]).suffix.lower() in suffixes:
            return item
    names = [f"{i.get('subfolder', '')}/{i['filename']}" for i in files]
    raise BadOutput(
        f"{what}: the save node wrote {names or 'no file'}; expected a {'/'.join(suffixes)} file. "
        "Check the save node of the workflow template (SaveImage for stills; SaveVideo mp4/h264 for clips)"
    )


def check_still(path: Path | str, width: int, height: int, what: str) -> None:
    """A PNG that decodes completely at the asked size."""
    try:
        with Image.open(path) as img:
            fmt = img.format
            img.load()
            size = img.size
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise BadOutput(f"{what}: the server sent a file that does not decode as an image: {e}") from None
    if fmt != "PNG":
        raise BadOutput(f"{what}: the server sent a {fmt} image; expected PNG (use SaveImage)")
    if size != (width, height):
        raise BadOutput(
            f"{what}: the server sent a {size[0]}x{size[1]} image; expected {width}x{height}. "
            "Does the workflow template pass {{ width }} and {{ height }} to its latent?"
        )


def check_video(path: Path | str, frames: int, width: int, height: int, fps: float, what: str) -> None:
    """An H.264-decodable video with exactly `frames` frames, the asked size and frame rate."""
    try:
        info = probe(path)
        video = [s for s in info["streams"] if s.get("codec_type") == "video"]
        if not video:
            raise BadOutput(f"{what}: the server's file has no video stream")
        got_frames = count_frames(path)
    except MediaError as e:
        raise BadOutput(f"{what}: the server sent a video that does not decode: {e}") from None
    v = video[0]
    problems = []
    if (v.get("width"), v.get("height")) != (width, height):
        problems.append(f"size {v.get('width')}x{v.get('height')} (expected {width}x{height})")
    rate = v.get("r_frame_rate", "0/1")
    if Fraction(rate) != fps:
        problems.append(f"frame rate {rate} (expected {fps})")
    if got_frames != frames:
        problems.append(f"{got_frames} frames (expected {frames})")
    if problems:
        raise BadOutput(
            f"{what}: the server's video has "
            + ", ".join(problems)
            + ". Does the workflow template pass {{ width }}, {{ height }}, {{ frames }} and {{ fps }} through?"
        )


def trim_video(src: Path | str, dest: Path | str, frames: int, fps: float, log: TextIO | None = None) -> None:
    """The first `frames` frames (the model renders step*k+1; the shot may want fewer)."""
    ffmpeg(
        [
            "-i",
            src,
            "-frames:v",
            str(frames),
            "-r",
            str(fps),
            "-c:v",
            "libx264",
            "-preset",
            TRIM_PRESET,
            "-crf",
            str(TRIM_CRF),
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            "-an",
            dest,
        ],
        f"trim to {frames} frames",
        log,
    )
