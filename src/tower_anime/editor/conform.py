"""The conform: the picture rebuilt from an .otio file alone, and the voice lines found on the
dialogue stem, to prove that the timeline is the master to the frame and to the sample.

The FFmpeg graph comes from the timeline's data: each clip's media (relative to the .otio file),
its source range (a trim), the crossfades (Transitions) and the fades (Tower_Fade Effects),
joined by the same xfade / concat / fade chain the master uses (episode/master.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TextIO

import numpy as np

from ..episode.master import video_graph
from ..media import Filter, chain, ffmpeg, fx, graph, output, source, video_encode_args
from .otio_timeline import dialogue_clips, read, timeline_of


def conform_graph(timeline: dict, rows: list[dict]) -> str:
    """filter_complex text for inputs 0..n-1 (each clip's whole media): a clip that starts
    inside its media is trimmed there first, then the master's joins apply.

    Kept as text, not built with ffmpeg-python like the package's other graphs: the joins are
    the master's own graph text (episode/master.video_graph), so that the conform proves the
    same graph; the trims are spliced into it by input label, which only text allows. It
    becomes a graph of streams when video_graph does."""
    graph = video_graph(timeline)
    pre = []
    for i, row in enumerate(rows):
        if row["source_start"]:
            pre.append(f"[{i}:v]trim=start_frame={row['source_start']},setpts=PTS-STARTPTS[src{i}]")
            graph = graph.replace(f"[{i}:v]", f"[src{i}]", 1)
    return ";\n".join(pre + [graph])


def conform_picture(otio_path: Path | str, out_video: Path | str, output_cfg: dict, log: TextIO | None = None) -> dict:
    """Encode the picture of an .otio file as the master is encoded (config `output`): the same
    frames give the same decoded pictures. Returns the timeline dict it was built from."""
    otio_path = Path(otio_path)
    timeline, rows = timeline_of(read(otio_path))
    inputs = []
    for row in rows:
        inputs += ["-i", str((otio_path.parent / row["media"]).resolve())]
    with tempfile.TemporaryDirectory(prefix="tower-conform-") as tmp:
        graph = Path(tmp) / "graph.txt"
        graph.write_text(conform_graph(timeline, rows))
        ffmpeg(
            [
                *inputs,
                "-filter_complex_script",
                graph,
                "-map",
                "[vout]",
                *video_encode_args(output_cfg, timeline["fps"]),
                "-fflags",
                "+bitexact",
                "-y",
                str(out_video),
            ],
            f"conform of {otio_path.name}",
            log,
        )
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
