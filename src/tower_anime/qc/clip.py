"""Clip checks: frame count, rate, size, duration; black frames; frozen stretches; flicker;
first frame faithful to its still; sharpness over time.

One decode to half-size grey (qc/frames.py) feeds every metric; ffprobe runs beside it.
The top strip a backend holds still (the storyboard caption) is left out of every
picture metric: it is text that legitimately never moves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .. import verify_output
from ..errors import MediaError
from ..fsutil import atomic_path
from ..media import probe
from .frames import LUMA_PLANE, grey_chunks, luma_filter
from .report import check, make_report
from .still import laplacian_variance

SCALE = 2  # metrics at half size: 4x fewer pixels, same verdicts (bench/qc_clip.py)


class FrameStats:
    """Per-frame measurements accumulated chunk by chunk, in the stream's own levels
    (integer maths where it is exact); `full(levels)` maps them to 0..255 grey at the end.
    The levels (limited or full range) come from ffprobe, which runs beside the decode, so
    black pixels are counted against both candidate black levels."""

    SHARPNESS_STEP = 4  # the Laplacian is the costly metric: every 4th frame is 6 a second at 24 fps
    RANGES = {"tv": (16, 235), "pc": (0, 255)}

    def __init__(self, black_threshold, black_ratio, freeze_noise):
        self.black_threshold, self.black_ratio, self.freeze_noise = black_threshold, black_ratio, freeze_noise
        self.means, self.sharp = [], []
        self.black = {name: [] for name in self.RANGES}
        # freezedetect's rule: each frame is compared with the frame that began the current
        # hold (its reference), not with the frame before it, so a slow steady move that
        # changes little per frame still counts as moving once it has gone far enough
        self.reference = {name: None for name in self.RANGES}
        self.held = {name: [] for name in self.RANGES}  # frames since the reference, per frame
        self.first = None
        self.count = 0

    def add(self, chunk: np.ndarray) -> None:
        n, pixels = len(chunk), chunk.shape[1] * chunk.shape[2]
        flat = chunk.reshape(n, -1)
        self.means += (flat.sum(axis=1, dtype=np.int64) / pixels).tolist()
        for name, (lo, hi) in self.RANGES.items():
            level = lo + self.black_threshold * (hi - lo)  # blackdetect's pix_th
            self.black[name] += (np.count_nonzero(flat <= level, axis=1) >= self.black_ratio * pixels).tolist()
        offset = -self.count % self.SHARPNESS_STEP
        self.sharp += laplacian_variance(chunk[offset :: self.SHARPNESS_STEP].astype(np.float32)).tolist()
        wide = chunk.astype(np.int16)
        for frame in wide:
            self._hold(frame, pixels)
        if self.first is None:
            self.first = chunk[0].astype(np.float32)
        self.count += n

    def _hold(self, frame, pixels):
        """Extend or end the hold of each candidate range with one frame (mean absolute
        difference from the reference under freeze_noise of the range = the same picture)."""
        mafd = {}
        for name, (lo, hi) in self.RANGES.items():
            ref, held = self.reference[name], self.held[name]
            if ref is None:
                self.reference[name] = frame
                held.append(0)
                continue
            if id(ref) not in mafd:  # both ranges usually share one reference
                mafd[id(ref)] = np.abs(frame - ref).sum(dtype=np.int64) / pixels
            if mafd[id(ref)] < self.freeze_noise * (hi - lo):
                held.append(held[-1] + 1)
            else:
                self.reference[name] = frame
                held.append(0)

    def full(self, levels: tuple[int, int]) -> dict[str, Any]:
        """Metrics in 0..255 grey: means, black flags, longest hold (frames that matched the
        reference that began it), sharpness, the first frame. levels: (black, white) of the decoded values."""
        lo, hi = levels
        g = 255.0 / (hi - lo)
        first = None if self.first is None else np.clip((self.first - lo) * g, 0, 255)
        return {
            "means": (np.array(self.means) - lo) * g,
            "black": self.black["pc" if levels == self.RANGES["pc"] else "tv"],
            # FFmpeg freezedetect's measure: mean absolute difference (0..1 of the range)
            # from the hold's reference under freeze_noise
            "held": max(self.held["pc" if levels == self.RANGES["pc"] else "tv"], default=0),
            "sharp": np.array(self.sharp or [0.0]) * g * g,
            "first": first,
        }


def exempt_reason(table: dict[str, list[str]] | None, backend: str, move: str, what: str) -> str | None:
    if move in (table or {}).get(backend, []):
        return f"{what} by design: '{move}' on the {backend} backend (qc.clip config)"
    return None


def _still_grey(still_path, width, height, rows):
    """The still in half-size grey, its bottom `rows` (the picture under a held top strip)."""
    with Image.open(still_path) as im:
        grey = im.convert("L").resize((width, height), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32)[height - rows :]


def first_frame_ssim(first: np.ndarray, still_path: Path | str, width: int, height: int) -> float:
    from skimage.metrics import structural_similarity

    still = _still_grey(still_path, width, height, first.shape[0])
    return float(structural_similarity(still, first, data_range=255.0))


def thumb_frames(frames: int) -> tuple[int, ...]:
    return (0, (frames - 1) // 2, frames - 1) if frames > 2 else tuple(range(frames))


def _video_stream(path, verify=False):
    """The first video stream's properties. verify: ffprobe also counts every packet and
    refuses a file cut short (verify_output.video raises IncompleteOutput)."""
    info = verify_output.video(path) if verify else probe(path)
    video = next((s for s in info["streams"] if s["codec_type"] == "video"), None)
    if video is None:
        raise MediaError(f"{path} has no video stream")
    return video


def measure(
    path: Path | str, spec: dict, cfg: dict, thumb: Path | str | None = None, verify: bool = False
) -> tuple[int, int, float, dict[str, Any], int]:
    """Decode once; return (width, height, fps, metrics in 0..255 grey, frame count).

    ffprobe runs beside the decode (it costs ~0.1 s on 2 cores); with `verify` it is
    verify_output.video's, whose IncompleteOutput outranks any error of the decode. The
    decode assumes a YUV stream, whose luma plane is the cheapest grey; any other pixel
    format is decoded again.
    """
    still = spec["still"]
    w, h = still["width"] // SCALE, still["height"] // SCALE
    top = -(-spec.get("hold_top", 0) // SCALE)  # picture under the held strip

    def decode(first_filter):
        stats = FrameStats(cfg["black_pixel_threshold"], cfg["black_picture_ratio"], cfg["freeze_noise"])
        for chunk in grey_chunks(path, w, h, first_filter, thumb, thumb_frames(spec["frames"])):
            stats.add(chunk[:, top:])
        return stats

    with ThreadPoolExecutor(1) as pool:
        probed = pool.submit(_video_stream, path, verify)
        try:
            stats, error = decode(LUMA_PLANE), None
        except MediaError as e:
            stats, error = None, e
        video = probed.result()  # a file cut short or with no video stream raises here
    first_filter, levels = luma_filter(video)
    if first_filter != LUMA_PLANE:
        stats = decode(first_filter)
    elif error:
        raise error
    return (
        int(video["width"]),
        int(video["height"]),
        float(Fraction(video["r_frame_rate"])),
        stats.full(levels),
        stats.count,
    )


def clip_report(
    path: Path | str,
    spec: dict,
    cfg: dict,
    still_path: Path | str | None = None,
    thumb: Path | str | None = None,
    waivers: Iterable[dict] = (),
) -> dict[str, Any]:
    """Measure a clip against what its spec asked for; cfg is config['qc']['clip']."""
    still = spec["still"]
    item = f"{still['episode']}/{still['shot']}"
    try:
        with atomic_path(thumb, check=verify_output.image) if thumb else contextlib.nullcontext() as strip:
            # every packet there: a clip cut short fails on that, not on its length
            width, height, fps, m, n = measure(path, spec, cfg, strip, verify=True)
    except (MediaError, verify_output.IncompleteOutput) as e:
        if thumb:  # the report must still be written: mark the sheet's place instead
            with atomic_path(thumb, check=verify_output.image) as tmp:
                Image.new("RGB", (192, 128), (128, 128, 128)).save(tmp, format="JPEG")
        return make_report(
            "clip", item, [check("decodes", False, "==", True)], {"file": str(path), "error": str(e)}, waivers
        )
    want_fps, want_frames = spec["fps"], spec["frames"]
    backend, move = spec["backend"], still["camera"]["move"]
    frozen = m["held"]
    jumps = np.abs(np.diff(m["means"])) if n > 1 else np.zeros(1)
    sharp = m["sharp"]
    checks = [
        check("decodes", n > 0, "==", True),
        check("frames", n, "==", want_frames),
        check("fps", fps, "==", float(want_fps)),
        check("width", width, "==", still["width"], "px"),
        check("height", height, "==", still["height"], "px"),
        check("duration", round(n / fps, 4) if fps else 0.0, "==", round(want_frames / want_fps, 4), "s"),
        check("black_fraction", round(sum(m["black"]) / n, 4) if n else 1.0, "<=", cfg["max_black_fraction"]),
        check(
            "frozen_seconds",
            round((frozen + 1) / fps, 3) if frozen and fps else 0.0,
            "<=",
            cfg["max_frozen_seconds"],
            "s",
            **_exempt(exempt_reason(cfg["frozen_exempt"], backend, move, "still")),
        ),
        check("max_luma_jump", round(float(jumps.max()), 3), "<=", cfg["max_luma_jump"], "levels"),
        check("min_sharpness", round(float(sharp.min()), 2), ">=", cfg["min_sharpness"]),
        check(
            "sharpness_ratio",
            round(float(sharp.min() / sharp.max()), 4) if sharp.max() > 0 else 0.0,
            ">=",
            cfg["min_sharpness_ratio"],
        ),
    ]
    reason = exempt_reason(cfg["first_frame_exempt"], backend, move, "starts away from the still")
    if still_path is None:
        reason = reason or "no still given to compare with"
    ssim = None
    if m["first"] is not None and still_path is not None and not reason:
        ssim = round(first_frame_ssim(m["first"], still_path, still["width"] // SCALE, still["height"] // SCALE), 4)
    checks.append(check("first_frame_ssim", ssim, ">=", cfg["min_first_frame_ssim"], **_exempt(reason)))
    return make_report(
        "clip",
        item,
        checks,
        {"file": str(path), "backend": backend, "move": move, "seed": spec.get("seed", still.get("seed"))},
        waivers,
    )


def _exempt(reason):
    return {"exempt": reason} if reason else {}
