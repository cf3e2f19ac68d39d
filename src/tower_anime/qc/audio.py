"""Voice line and music cue checks: decodes, sample rate, not silent, not clipped, and a
length that fits (a voice line plausible for its text; a music cue covering its scene)."""

from __future__ import annotations

import re
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .. import verify_output
from .report import check, make_report

CLIP_LEVEL = 0.999  # a sample this close to full scale counts as clipped


def _read_pcm16(path):
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise wave.Error("not 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.reshape(-1, w.getnchannels()).astype(np.float32) / 32768.0, w.getframerate()


def read_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """(samples as float32 in -1..1, one column per channel, sample rate). 16-bit PCM WAV
    is read directly; anything else is decoded to it by FFmpeg first (at its own rate)."""
    try:
        return _read_pcm16(path)
    except (wave.Error, EOFError):
        pass
    # imported here: every Tower WAV is read above, and the qc jobs (one per voice line) need
    # not load ffmpeg-python and the FFmpeg helpers to check it
    from ..media import ffmpeg

    with tempfile.TemporaryDirectory(prefix="tower-qc-") as tmp:
        pcm = Path(tmp) / "pcm.wav"
        ffmpeg(["-i", str(path), "-map", "0:a:0", "-c:a", "pcm_s16le", str(pcm)], f"decode {path}")
        return _read_pcm16(pcm)


def level_metrics(samples: np.ndarray) -> dict[str, float | None]:
    """RMS and peak in dBFS and the share of clipped samples."""
    if samples.size == 0:
        return {"rms_dbfs": None, "peak_dbfs": None, "clipped_fraction": None}
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    peak = float(np.abs(samples).max())
    db = lambda v: round(float(20 * np.log10(v)), 2) if v > 0 else -120.0  # noqa: E731
    return {
        "rms_dbfs": db(rms),
        "peak_dbfs": db(peak),
        "clipped_fraction": round(float((np.abs(samples) >= CLIP_LEVEL).mean()), 6),
    }


def _decoded(kind, item, path, waivers):
    try:
        verify_output.audio(path)  # all of it there: a WAV cut short still reads, without its end
        return read_audio(path), None
    except Exception as e:  # an unreadable file is a failed check, reported like any other
        return None, make_report(
            kind, item, [check("decodes", False, "==", True)], {"file": str(path), "error": str(e)}, waivers
        )


def spoken_characters(text: str) -> int:
    """Letters and digits: what takes time to say (punctuation and spaces do not)."""
    return len(re.findall(r"\w", text))


def voice_report(
    path: Path | str, spec: dict, cfg: dict, sample_rate: int, waivers: Iterable[dict] = ()
) -> dict[str, Any]:
    """cfg is config['qc']['voice']; sample_rate the delivery rate (config output)."""
    item = f"{spec['episode']}/{spec['line']}"
    decoded, failed = _decoded("voice", item, path, waivers)
    if failed:
        return failed
    samples, rate = decoded
    seconds = len(samples) / rate
    levels = level_metrics(samples)
    chars = spoken_characters(spec["text"])
    checks = [
        check("decodes", True, "==", True),
        check("sample_rate", rate, "==", sample_rate, "Hz"),
        check("rms_dbfs", levels["rms_dbfs"], ">=", cfg["min_rms_dbfs"], "dBFS"),
        check("clipped_fraction", levels["clipped_fraction"], "<=", cfg["max_clipped_fraction"]),
        check(
            "chars_per_second",
            round(chars / seconds, 2) if seconds else None,
            "between",
            [cfg["min_chars_per_second"], cfg["max_chars_per_second"]],
        ),
    ]
    return make_report(
        "voice",
        item,
        checks,
        {"file": str(path), "seconds": round(seconds, 3), "peak_dbfs": levels["peak_dbfs"], "text": spec["text"]},
        waivers,
    )


def music_report(path: Path | str, spec: dict, cfg: dict, waivers: Iterable[dict] = ()) -> dict[str, Any]:
    """cfg is config['qc']['music']; spec the scene's music spec (duration, sample rate)."""
    item = f"{spec['episode']}/{spec['scene']}"
    decoded, failed = _decoded("music", item, path, waivers)
    if failed:
        return failed
    samples, rate = decoded
    seconds = len(samples) / rate
    levels = level_metrics(samples)
    checks = [
        check("decodes", True, "==", True),
        check("sample_rate", rate, "==", spec["sample_rate"], "Hz"),
        # a cue shorter than its scene leaves the end of the scene without music
        check("seconds", round(seconds, 3), ">=", round(spec["duration"] - cfg["length_tolerance_seconds"], 3), "s"),
        check("rms_dbfs", levels["rms_dbfs"], ">=", cfg["min_rms_dbfs"], "dBFS"),
        check("clipped_fraction", levels["clipped_fraction"], "<=", cfg["max_clipped_fraction"]),
    ]
    return make_report(
        "music",
        item,
        checks,
        {"file": str(path), "peak_dbfs": levels["peak_dbfs"], "scene_seconds": spec["duration"]},
        waivers,
    )
