"""The embedded clips backend: a camera move over the shot's still.

Every frame is the still resampled (Pillow, bicubic) from a crop window placed in
fractional pixels, so the picture advances on every frame, however slow the move. FFmpeg's
zoompan crops at whole pixels (even ones in yuv420p): even on a 4x upscaled still a 10 s
pan moved in half-pixel steps with stops between them. The frames reach libx264 through a
pipe (measured on 2 cores: ~1.3 s for a 240-frame 768x512 clip, as fast as zoompan was).

The clip is an intermediate: the episode's encode is the one lossy encode between a drawn
frame and the delivered episode, so the clip is lossless (x264 -qp 0, in yuv420p as the
episode is). Measured on 2 cores, 121 frames 768x512: 1.05 s and 9.6 MB with ultrafast,
against 1.29 s and 0.75 MB lossy (crf 18 veryfast). Drawing the frames of a push-in took 0.86 s
with Lanczos, 0.46 s with bicubic (used: every move passes its clip gate).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from PIL import Image

from .. import verify_output
from ..errors import MediaError
from ..fsutil import atomic_path
from ..media import ffmpeg_from_frames
from .faces import FaceAnimator, still_faces

MOVES = ("static", "push_in", "pull_out", "pan_left", "pan_right")
ZOOM = 0.15  # how far a push-in/pull-out/pan travels: 15 % of the frame
# Share of smoothstep in the ease; the rest is linear. A pure smoothstep starts and ends at
# rest, and a 10 s move crept for over a second at each end; with half of it linear the
# camera starts and ends at half its mean speed and peaks at 1.25 times it.
SMOOTH = 0.5
# Shortest clip whose moves pass the clip gate with its default thresholds. The check that
# binds is max_luma_jump (6 grey levels between consecutive frames): the same travel in
# fewer frames is a bigger step. Largest jump measured on storyboard stills (0 and 3
# characters, wide and medium, night and day, four set themes, every move): 9.8 levels at
# 2 frames (fails), 5.1 at 3, 4.0 at 4, 2.5 at 6, 1.8 at 8. 6 frames leaves the limit a
# margin of more than 2x for stills unlike those. Every other check passes from 1 frame;
# the freeze check cannot fail a clip shorter than max_frozen_seconds. The checks count
# frames, not seconds, so the limit is the same at every frame rate.
MIN_FRAMES = 6
DRAWERS = 2  # frames drawn at a time (camera_frames)


def min_frames(fps: float) -> int:
    """Fewest frames a camera clip may have at `fps` and still pass its own clip gate
    (every move; see MIN_FRAMES). The same at every rate: the binding check is per frame."""
    return MIN_FRAMES


def ease(t: float) -> float:
    """Progress 0..1 of a move at time t (0..1): a blend of linear and smoothstep that
    never stops (speed 1 - SMOOTH at the ends, 1 + SMOOTH/2 in the middle)."""
    return (1 - SMOOTH) * t + SMOOTH * t * t * (3 - 2 * t)


def crop_boxes(move: str, frames: int, width: int, height: int) -> list[tuple[float, float, float, float]]:
    """The window of the still (left, top, right, bottom, fractional pixels) each frame shows.

    Windows keep the frame's aspect and sit on the still's bottom edge: the zoom crops the
    top (under the held caption strip) and the sides, never the feet, the name labels or the
    faces of figures that stand on the ground.
    """
    if move not in MOVES:
        raise MediaError(f"unknown camera move {move!r}; expected static, push_in, pull_out, pan_left or pan_right")
    last = max(frames - 1, 1)
    boxes = []
    for n in range(frames):
        p = ease(n / last)
        if move == "static":
            zoom, x = 1.0, 0.5
        elif move in ("push_in", "pull_out"):
            zoom, x = 1 + ZOOM * (p if move == "push_in" else 1 - p), 0.5
        else:  # the camera pans right = the window slides from the left edge to the right edge
            zoom, x = 1 + ZOOM, p if move == "pan_right" else 1 - p
        w, h = width / zoom, height / zoom
        left = (width - w) * x
        boxes.append((left, height - h, left + w, float(height)))
    return boxes


def safe_area(width: int, height: int, hold_top: float = 0.0) -> tuple[float, float, float, float]:
    """The part of a still (left, top, right, bottom) that every move shows in every frame:
    the pans' first and last windows overlap there. With hold_top, the rows that the held
    caption strip covers at the top of a zoomed frame are left out too. A still backend keeps
    what must stay in view (faces, name labels) inside it."""
    w = width / (1 + ZOOM)
    # a window of zoom z shows still row y at frame row (y - height + height / z) * z: it
    # clears the strip when y >= height - (height - hold_top) / z, the most at the largest z
    return width - w, height - (height - hold_top) / (1 + ZOOM), w, float(height)


def camera_frames(
    still: Image.Image, move: str, frames: int, hold_top: int = 0, faces: FaceAnimator | None = None
) -> Iterator[bytes]:
    """RGB24 bytes of each frame of the move over `still`; its top `hold_top` rows stay put.
    faces: redraws mouths and eyes on the still before each frame is cropped from it.

    Two frames are drawn at a time: Pillow's resampling, most of a clip's work, runs outside
    Python's lock, and a clip re-made alone (an edit to one shot) has two cores. Each frame
    depends only on its number, so the bytes are those of drawing them one by one; no more
    than a few frames are held ahead of the encoder."""
    width, height = still.size
    strip = still.crop((0, 0, width, hold_top)) if hold_top else None
    boxes = crop_boxes(move, frames, width, height)

    def draw(n: int) -> bytes:
        picture = faces.draw(still, faces.state(n)) if faces else still
        if boxes[n] == (0.0, 0.0, float(width), float(height)):
            frame = picture.copy()
        else:
            frame = picture.resize((width, height), Image.Resampling.BICUBIC, box=boxes[n])
        if strip is not None:
            frame.paste(strip, (0, 0))
        return frame.tobytes()

    with ThreadPoolExecutor(max_workers=DRAWERS) as pool:
        ahead: deque = deque()
        for n in range(frames):
            ahead.append(pool.submit(draw, n))
            if len(ahead) > 2 * DRAWERS:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def clip_frames(spec: dict, still_path: str | Path, voices: dict | None = None) -> Iterator[bytes]:
    """RGB24 bytes of each of the clip's frames (render_camera_clip): the camera move over the
    still, with the speakers' mouths and every character's eyes redrawn on a storyboard still."""
    still, frames, fps = spec["still"], spec["frames"], spec["fps"]
    width, height = still["width"], still["height"]
    with Image.open(still_path) as im:
        picture = im.convert("RGB")
        faces = still_faces(im)
    if picture.size != (width, height):  # a still of another size fills the frame
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        faces = []  # recorded in the still's own pixels
    animator = (
        FaceAnimator(faces, spec.get("lines") or [], voices or {}, frames, fps, still.get("seed", 0)) if faces else None
    )
    return camera_frames(picture, still["camera"]["move"], frames, spec.get("hold_top", 0), animator)


def render_camera_clip(
    spec: dict,
    still_path: str | Path,
    out_path: str | Path,
    log: TextIO | None = None,
    preset: str = "ultrafast",
    voices: dict | None = None,
) -> None:
    """Write a lossless H.264 clip of exactly spec['frames'] frames at spec['fps']; the top
    spec['hold_top'] rows (the storyboard's caption strip) stay still. On a storyboard still
    the speakers of spec['lines'] move their mouths with their voices (voices: line id ->
    WAV) and every character blinks (clips/faces.py)."""
    still, frames, fps = spec["still"], spec["frames"], spec["fps"]
    width, height = still["width"], still["height"]
    pixels = clip_frames(spec, still_path, voices)
    with atomic_path(out_path, check=lambda p: verify_output.video(p, frames=frames)) as tmp:
        ffmpeg_from_frames(
            pixels,
            [
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-s",
                f"{width}x{height}",
                "-r",
                str(fps),
                "-i",
                "pipe:0",
                "-frames:v",
                str(frames),
                "-c:v",
                "libx264",
                "-preset",
                preset,
                "-qp",
                "0",
                # one encoding thread: the frames are drawn slower than one thread encodes them
                # (~4 against ~2.8 ms a frame at 768x512), so more threads gain no time, cost
                # ~7 % more CPU, and oversubscribe the cores that two clip jobs share
                "-threads",
                "1",
                "-pix_fmt",
                "yuv420p",
                "-movflags",
                "+faststart",
                "-an",
                tmp,
            ],
            f"camera move for shot {still['shot']}",
            log,
        )
