"""Is a written file complete? The checks run on an output's temporary file before it takes
its real name (fsutil.atomic_path(check=...)), so a truncated file is never renamed into place.

A full disk does not always make a tool fail: FFmpeg 5.1 finishing a WAV on a full disk
printed "Error writing trailer of ...: No space left on device" and exited 0, leaving 0.77 s
of a 1.06 s line whose header still said 1.06 s. So the tool's error output is read too
(write_errors), and each file is read back: every byte of audio, every pixel of a still,
and every packet of a video.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

from .errors import TowerError


class IncompleteOutput(TowerError):
    """A file that was written but is not whole; the message says what is missing."""


Check = Callable[[Path], None]

# Lines by which FFmpeg (and other tools) report a failed write, even when they exit 0.
_WRITE_ERRORS = re.compile(
    r"No space left on device|Disk quota exceeded|Error writing trailer|Error closing file|I/O error|"
    r"Input/output error|Read-only file system|File too large|av_interleaved_write_frame\(\)|"
    r"Error muxing a packet|Error submitting a packet to the muxer|"
    # "Invalid argument" alone also names bad options; count it when it is about writing
    r"(?i:(writ|trailer|mux|clos|flush)[^\n]*Invalid argument)"
)


def write_errors(stderr: str) -> list[str]:
    """The lines of a tool's error output that report a failed write."""
    return [line.strip() for line in stderr.splitlines() if _WRITE_ERRORS.search(line)]


def likely_cause(text: str) -> str:
    """The likely cause of a write failure and its fix, from the error text."""
    if re.search(r"No space left|Disk quota|File too large", text):
        return "the disk is full (or over quota): free space on it (df -h), then run again"
    if re.search(r"Read-only file system|Permission denied|Operation not permitted", text):
        return (
            "the folder is not writable: make it writable (chmod, chattr -i, a read-write mount) or point the "
            "output elsewhere, then run again"
        )
    if re.search(r"I/O error|Input/output error", text):
        return "the disk or network share failed a write: check it (dmesg, mount), then run again"
    return (
        "the writer stopped early (a full disk, a killed or crashed tool): check free space (df -h) "
        "and the job's log, then run again"
    )


# --------------------------------------------------------------------------- audio


def _riff_chunks(data: bytes):
    """(id, payload offset, declared size) of each chunk after the RIFF/WAVE header."""
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        yield cid, pos + 8, size
        pos += 8 + size + (size & 1)


def wav(path: str | Path, samples: int | None = None, channels: int | None = None) -> None:
    """A PCM WAV whose header matches its data: the sample count the header declares is all
    present in the file (and equals `samples`, and the channels `channels`, when given)."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise IncompleteOutput(f"not a WAV file ({len(data)} bytes, no RIFF/WAVE header)")
    if data[:4] == b"RF64":  # sizes live in a ds64 chunk: decode instead
        return decodes(path)
    fmt = None
    for cid, at, size in _riff_chunks(data):
        if cid == b"fmt " and size >= 16:
            fmt = struct.unpack_from("<HHIIHH", data, at)
        elif cid == b"data":
            if fmt is None:
                raise IncompleteOutput("its data chunk comes before any fmt chunk")
            _, nch, rate, _, align, _ = fmt
            if size == 0xFFFFFFFF or size == 0:
                raise IncompleteOutput("its header was never finished (data size unset): the writer stopped early")
            present = len(data) - at
            if present < size:
                raise IncompleteOutput(
                    f"its header declares {size // align / rate:.3f} s ({size // align} samples) but the file "
                    f"holds {present // align / rate:.3f} s: {size - present} bytes of audio are missing"
                )
            if size % align:
                raise IncompleteOutput(f"its data ({size} bytes) is not a whole number of {align}-byte frames")
            if channels is not None and nch != channels:
                raise IncompleteOutput(f"it has {nch} channel(s), expected {channels}")
            if samples is not None and size // align != samples:
                raise IncompleteOutput(f"it holds {size // align} samples, expected {samples}")
            return
    raise IncompleteOutput("it has no data chunk: the writer stopped before the audio")


def decodes(path: str | Path) -> None:
    """FFmpeg decodes every stream of the file to the end without a single error line."""
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or proc.stderr.strip():
        raise IncompleteOutput(f"it does not decode to the end: {_last(proc.stderr) or f'exit {proc.returncode}'}")


def audio(path: str | Path, samples: int | None = None, channels: int | None = None) -> None:
    """A WAV by its header and size (see wav); any other audio (FLAC, Opus) decoded in full."""
    if Path(path).suffix.lower() == ".wav":
        return wav(path, samples, channels)
    return decodes(path)


# --------------------------------------------------------------------------- pictures


def image(path: str | Path) -> None:
    """A still or thumbnail that Pillow opens, verifies (PNG: every chunk's CRC) and decodes.
    (Pillow opens no picture 0 pixels wide or high: it is refused as undecodable.)"""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            im.load()
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError... for broken files
        raise IncompleteOutput(f"it does not decode as a picture: {e}") from None


# --------------------------------------------------------------------------- video


def video(path: str | Path, frames: int | None = None, audio: bool = False) -> dict:
    """A video whose every packet is there: ffprobe reads the stream headers and counts the
    packets of each stream without an error line. The first video stream's count equals
    `frames` when given (one packet per frame in H.264), otherwise the frame count its own
    header declares (MP4); `audio`: an audio stream with packets is there too (the MKV master).

    Returns ffprobe's answer (every stream with its packet count, the format, the chapters,
    as media.probe gives them): a caller that needs the stream's properties too reads the
    file once, not twice (each ffprobe costs ~0.05 s of CPU, mostly its start)."""
    proc = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            "-show_chapters",
            str(path),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise IncompleteOutput(f"ffprobe cannot read it: {_last(proc.stderr) or f'exit {proc.returncode}'}")
    if proc.stderr.strip():  # e.g. "stream 0, offset 0x4c66: partial file" for a cut MP4
        raise IncompleteOutput(f"it is damaged or cut short: {_last(proc.stderr)}")
    info = json.loads(proc.stdout or "{}")
    streams = info.get("streams", [])
    videos = [s for s in streams if s.get("codec_type") == "video"]
    if not videos or not int(videos[0].get("width") or 0):
        raise IncompleteOutput("it has no video stream")
    packets = int(videos[0].get("nb_read_packets") or 0)
    declared = videos[0].get("nb_frames")
    if frames is not None and packets != frames:
        raise IncompleteOutput(f"it holds {packets} video frames, expected {frames}")
    if frames is None and declared and declared.isdigit() and packets != int(declared):
        raise IncompleteOutput(f"it holds {packets} video frames, its header declares {declared}")
    if packets < 1:
        raise IncompleteOutput("its video stream holds no frames")
    if audio and not any(s.get("codec_type") == "audio" and int(s.get("nb_read_packets") or 0) > 0 for s in streams):
        raise IncompleteOutput("it has no audio (no audio stream, or one with no packets)")
    duration = float(info.get("format", {}).get("duration") or 0)
    if duration <= 0:
        raise IncompleteOutput("its container declares no duration")
    return info


def same_size(source: str | Path) -> Check:
    """A check that the file has exactly the size of `source` (a copy cut short does not)."""
    want = Path(source).stat().st_size

    def check(path: Path) -> None:
        got = Path(path).stat().st_size
        if got != want:
            raise IncompleteOutput(f"the copy holds {got} bytes of {want} ({source})")

    return check


def all_of(*checks: Check) -> Check:
    def check(path: Path) -> None:
        for c in checks:
            c(path)

    return check


def _last(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return "; ".join(lines[-2:])
