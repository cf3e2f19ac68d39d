"""Faces that move on a storyboard still: a speaking character's mouth opens and closes with
the loudness of their own line's voice, and every character blinks now and then.

Everything is deterministic: the mouth from the voice file's samples and the line's place
in the shot (episode/placement.py, the function the mix uses), the blinks from the shot's
seed and the character id. A character who is not speaking keeps the still's closed mouth.
"""

from __future__ import annotations

import json
import random
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..episode.placement import place_lines

# PNG text chunk where a storyboard still records its characters' faces (JSON, cast order)
FACES_KEY = "tower.faces"
INK = (28, 28, 36)  # the storyboard's line colour (stills/colours.py)
MOUTH = (120, 32, 44)  # inside of an open mouth
# loudness (share of the line's 95th-percentile frame loudness) above which the mouth is
# half open, and fully open: below the first it stays closed (pauses, breaths)
HALF_OPEN, FULL_OPEN = 0.2, 0.55
BLINK_SECONDS = 0.12  # eyes closed for about three frames at 24 fps
BLINK_EVERY = (2.0, 5.0)  # seconds between blinks, drawn uniformly


def voice_loudness(path: str | Path, fps: float) -> np.ndarray:
    """RMS of a 16-bit PCM WAV per 1/fps window, scaled so the line's 95th percentile is 1."""
    with wave.open(str(path), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit samples; the voice stage writes 16-bit PCM")
    # a file cut short may end inside a sample: the mouth follows what is there, and the voice's
    # own gate refuses the line (which remakes it, and so this clip)
    raw = raw[: len(raw) // (2 * channels) * (2 * channels)]
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32).reshape(-1, channels).mean(axis=1) / 32768.0
    step = rate / fps
    count = int(np.ceil(len(samples) / step)) if len(samples) else 0
    rms = np.array([np.sqrt(np.mean(samples[int(k * step) : int((k + 1) * step)] ** 2) + 1e-12) for k in range(count)])
    scale = np.percentile(rms, 95) if count else 1.0
    return rms / max(scale, 1e-4)


def mouth_tracks(lines: list[dict], voices: dict, frames: int, fps: float) -> dict[str, np.ndarray]:
    """{speaker id: mouth opening per frame (0 closed, 1 half, 2 open)} for the shot's lines.

    lines: the clip spec's `lines` (the plan's placement requests, in seconds from the shot's
    start); voices: line id -> WAV path. Each line is placed as the mix places it."""
    if not lines:
        return {}
    durations = {}
    for cue in lines:
        with wave.open(str(voices[cue["line"]]), "rb") as w:
            durations[cue["line"]] = w.getnframes() / w.getframerate()
    tracks: dict[str, np.ndarray] = {}
    for cue in place_lines(lines, durations):
        loud = voice_loudness(voices[cue["line"]], fps)
        track = tracks.setdefault(cue["speaker"], np.zeros(frames, dtype=np.int8))
        for n in range(frames):
            k = int(((n / fps) - cue["start"]) * cue["tempo"] * fps)  # the voice's own frame
            if 0 <= k < len(loud):
                track[n] = max(track[n], 2 if loud[k] >= FULL_OPEN else 1 if loud[k] >= HALF_OPEN else 0)
    return tracks


def blink_track(seed: int | str, char_id: str, frames: int, fps: float) -> np.ndarray:
    """True on the frames where the character's eyes are shut (deterministic from the seed)."""
    rng = random.Random(f"blink/{seed}/{char_id}")
    shut = np.zeros(frames, dtype=bool)
    length = max(2, round(BLINK_SECONDS * fps))
    t = rng.uniform(0.5, BLINK_EVERY[1])
    while t * fps < frames:
        start = int(t * fps)
        shut[start : start + length] = True
        t += rng.uniform(*BLINK_EVERY)
    return shut


class FaceAnimator:
    """Redraws mouths and eyes on a copy of the still for each frame that needs it."""

    def __init__(self, faces: list[dict], lines: list[dict], voices: dict, frames: int, fps: float, seed=0):
        self.faces = faces
        self.mouths = mouth_tracks(lines, voices, frames, fps)
        self.blinks = {f["id"]: blink_track(seed, f["id"], frames, fps) for f in faces}

    def state(self, n: int) -> tuple:
        """What frame n changes on the still: ((face index, mouth opening, eyes shut), ...)."""
        found = []
        for i, f in enumerate(self.faces):
            mouth = int(self.mouths[f["id"]][n]) if f["id"] in self.mouths else 0
            shut = bool(self.blinks[f["id"]][n])
            if mouth or shut:
                found.append((i, mouth, shut))
        return tuple(found)

    def draw(self, still: Image.Image, state: tuple) -> Image.Image:
        """The still with the faces of `state` redrawn (the still itself when nothing moves)."""
        if not state:
            return still
        frame = still.copy()
        d = ImageDraw.Draw(frame)
        for i, mouth, shut in state:
            f = self.faces[i]
            ow = max(1, round(f["u"] / 40))
            if mouth:
                cx, cy, half = f["mouth"]
                ry = half * (0.45 if mouth == 1 else 0.9)
                d.ellipse((cx - half, cy - ry * 0.6, cx + half, cy + ry * 1.4), fill=MOUTH, outline=INK, width=ow)
            if shut:
                for ex, ey, rx, ry in f["eyes"]:
                    d.ellipse((ex - rx - 1, ey - ry - 1, ex + rx + 1, ey + ry + 1), fill=tuple(f["skin"]))
                    d.line((ex - rx, ey + ry * 0.3, ex + rx, ey + ry * 0.3), fill=INK, width=max(1, ow))
        return frame


def still_faces(image: Image.Image) -> list[dict]:
    """The faces a storyboard still recorded (stills/figures.face_box), or [] (another backend)."""
    text = image.info.get(FACES_KEY)
    return json.loads(text) if text else []


def voice_files(runtime: dict) -> dict[str, Path]:
    """The job's named inputs voice_<line> (rules/clips.smk), by line id."""
    return {k[len("voice_") :]: Path(v) for k, v in runtime.items() if k.startswith("voice_")}
