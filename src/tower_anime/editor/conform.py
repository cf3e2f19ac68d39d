"""The conform: the picture rebuilt from an .otio file alone, and the voice lines found on the
dialogue stem, to prove that the timeline is the master to the frame and to the sample.

The FFmpeg graphs come from the timeline's data: each clip's media (relative to the .otio file),
its source range (a trim), the crossfades (Transitions) and the fades (Tower_Fade Effects). The
trimmed clips are joined and encoded segment by segment as the master's picture is
(episode/segments.py, through the master's own join), so that the conform proves what the
master runs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TextIO

import numpy as np

from ..episode.segments import encode_segments, join_segments
from ..media import Filter, Stream, chain, fx, graph, output, source
from .otio_timeline import dialogue_clips, read, timeline_of


def clip_stream(row: dict, base: Path) -> Stream:
    """A Video-track clip's picture: its whole media (its path relative to `base`, the .otio
    file's folder), trimmed where the clip starts inside it."""
    clip = source((base / row["media"]).resolve()).video
    if row["source_start"]:
        clip = chain(clip, [fx("trim", start_frame=row["source_start"]), fx("setpts", "PTS-STARTPTS")])
    return clip


def conform_picture(otio_path: Path | str, out_video: Path | str, output_cfg: dict, log: TextIO | None = None) -> dict:
    """Encode the picture of an .otio file as the master is encoded (config `output`): segment
    by segment through the master's own join (episode/segments.py), then joined by a copy, so
    the same frames give the same bytes of picture. Returns the timeline dict it was built from."""
    otio_path = Path(otio_path)
    timeline, rows = timeline_of(read(otio_path))
    with tempfile.TemporaryDirectory(prefix="tower-conform-") as tmp:
        clips = [clip_stream(row, otio_path.parent) for row in rows]
        parts = encode_segments(timeline, clips, tmp, output_cfg, log)
        join_segments(parts, out_video, timeline["total_frames"], log)
    return timeline


def decoded_frames(path: Path | str, width: int, height: int) -> np.ndarray:
    """Every frame of a file's picture as 8-bit YUV 4:2:0 planes, one row per frame."""
    import subprocess

    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, width * height * 3 // 2)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def line_offsets(otio_path: Path | str, dialogue_stem: Path | str) -> list[tuple[str, int, int]]:
    """(line, its start in samples on the timeline, where its voice is found on the stem) per
    line of the Dialogue track: the voice (sped up as its time warp says) is cross-correlated
    with the stem around its place; the two starts are equal when it is placed to the sample."""
    otio_path = Path(otio_path)
    tl = read(otio_path)
    rate = tl.metadata["tower"]["sample_rate"]
    stem = _samples(dialogue_stem, rate)
    out = []
    margin = rate // 10
    for clip in dialogue_clips(tl):
        tempo = fx("atempo", f"{clip['tempo']:.4f}") if clip["tempo"] != 1.0 else NO_TEMPO
        voice = _samples(otio_path.parent / clip["media"], rate, tempo)[clip["source_start"] :]
        lo = max(0, clip["start"] - margin)
        window = stem[lo : clip["start"] + len(voice) + margin]
        n = len(window) + len(voice)
        size = 1 << (n - 1).bit_length()
        corr = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(voice, size)), size)[: len(window)]
        out.append((clip["meta"].get("line", clip["name"]), clip["start"], lo + int(np.argmax(corr))))
    return out


NO_TEMPO = fx("anull")


def samples_args(path, rate: int, tempo: Filter = NO_TEMPO) -> list[str]:
    """FFmpeg arguments decoding a file's audio through `tempo` to mono float32 at `rate` on stdout."""
    return graph(output(chain(source(path).audio, [tempo]), "-", ac=1, ar=rate, f="f32le"))


def _samples(path, rate: int, tempo: Filter = NO_TEMPO) -> np.ndarray:
    import subprocess

    raw = subprocess.run(
        ["ffmpeg", "-v", "error", *samples_args(path, rate, tempo)], capture_output=True, check=True
    ).stdout
    return np.frombuffer(raw, np.float32).astype(np.float64)
