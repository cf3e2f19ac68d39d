"""Accept a service's reply only when FFmpeg decodes all of it.

A reply is refused when it is empty, when FFmpeg finds no audio stream in it (an HTML error
page, a JSON document, random bytes), or when it is truncated: a WAV whose data chunk is
shorter than its header says (FFmpeg itself plays such a file without a word), a file that
decodes to less than the duration its container declares, or one the decoder reports damaged.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

from ..errors import MediaError, ServiceError
from ..media import ffmpeg, run

MIN_SECONDS = 0.05  # less than this is no audio at all
_DAMAGE = re.compile(r"truncat|partial|corrupt|invalid data|end of file|error while decoding|header missing", re.I)


def riff_shortfall(path: Path | str) -> tuple[int | None, int] | None:
    """For a RIFF/WAVE file: (declared data bytes, present data bytes) when data is missing, else None.

    Streaming writers put 0 or 0xFFFFFFFF in the size fields (the length is unknown): those pass.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
            return None
        size = Path(path).stat().st_size
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):
                    return None
                present = size - (pos + 8)
                return (chunk_size, present) if present < chunk_size else None
            pos += 8 + chunk_size + (chunk_size & 1)  # chunks are padded to an even size
        return (None, 0)  # no data chunk at all


def _first_bytes(path, n=48):
    data = Path(path).read_bytes()[:n]
    return "".join(chr(b) if 32 <= b < 127 else "." for b in data)


def _probe(path):
    """(ffprobe's answer, None) or (None, FFmpeg's last words) when it cannot read the file."""
    try:
        proc = run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", path], "ffprobe"
        )
    except MediaError as e:
        return None, str(e).splitlines()[-1].strip().replace(f"{path}: ", "")
    return json.loads(proc.stdout), None


def _decode(path, what):
    """(decoded seconds, FFmpeg's error lines) of a full decode of the first audio stream."""
    try:
        proc = ffmpeg(["-v", "error", "-i", path, "-map", "0:a:0", "-f", "null", "-", "-progress", "pipe:1"], "decode")
    except MediaError as e:
        raise ServiceError(f"{what}: FFmpeg could not decode the reply: {str(e).splitlines()[-1].strip()}") from None
    times = re.findall(r"^out_time_us=(\d+)$", proc.stdout, re.M)
    return (int(times[-1]) / 1e6 if times else 0.0), [ln for ln in proc.stderr.splitlines() if ln.strip()]


def verify_audio(path: Path | str, what: str, content_type: str = "") -> dict[str, Any]:
    """Decode `path` with FFmpeg; return {"seconds", "codec", "declared_seconds"} or raise ServiceError."""
    path = Path(path)
    size = path.stat().st_size
    ctype = f" (Content-Type {content_type})" if content_type else ""
    if size == 0:
        raise ServiceError(f"{what}: the reply is empty{ctype}; expected audio")
    info, why = _probe(path)
    streams = [s for s in (info or {}).get("streams", []) if s.get("codec_type") == "audio"]
    if not streams:
        why = why or "no audio stream in it"
        raise ServiceError(
            f"{what}: the reply is not audio FFmpeg can read{ctype}: {why}; "
            f"it starts with {_first_bytes(path)!r} ({size} bytes)"
        )
    short = riff_shortfall(path)
    if short:
        declared, present = short
        detail = (
            f"its header announces {declared} bytes of samples, {present} arrived"
            if declared
            else "it has no data chunk"
        )
        raise ServiceError(f"{what}: the reply is a truncated WAV: {detail}; the service stopped early")
    seconds, errors = _decode(path, what)
    damaged = [e for e in errors if _DAMAGE.search(e)]
    stream = streams[0]
    declared = stream.get("duration") or (info.get("format") or {}).get("duration")
    declared = float(declared) if declared not in (None, "N/A") else None
    if declared and seconds < declared - max(0.05, 0.02 * declared):
        raise ServiceError(
            f"{what}: the reply is truncated: it decodes to {seconds:.2f} s of the "
            f"{declared:.2f} s its container declares"
        )
    if damaged:
        raise ServiceError(f"{what}: the reply is damaged or truncated: FFmpeg says {damaged[0]!r}")
    if seconds < MIN_SECONDS:
        raise ServiceError(f"{what}: the reply holds no audio ({seconds:.3f} s decoded from {size} bytes)")
    return {"seconds": round(seconds, 4), "codec": stream.get("codec_name"), "declared_seconds": declared}
