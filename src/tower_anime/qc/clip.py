"""First-cut clip checks: frame count, rate, size, duration and black frames."""
import re
from fractions import Fraction

from ..media import count_frames, ffmpeg, probe
from .report import check, make_report

_BLACK = re.compile(r"black_duration:\s*([\d.]+)")


def black_seconds(path, pixel_threshold):
    """Seconds of (near) black picture found by FFmpeg's blackdetect."""
    proc = ffmpeg(["-i", path, "-vf", f"blackdetect=d=0:pix_th={pixel_threshold}", "-an", "-f", "null", "-"],
                  f"black detection on {path}")
    return sum(float(x) for x in _BLACK.findall(proc.stderr))


def clip_report(path, spec, thresholds):
    """Measure a clip against what its spec asked for."""
    video = next(s for s in probe(path)["streams"] if s["codec_type"] == "video")
    frames = count_frames(path)
    fps = float(Fraction(video["r_frame_rate"]))
    want_fps, want_frames = spec["fps"], spec["frames"]
    duration = frames / fps if fps else 0.0
    black = black_seconds(path, thresholds["black_pixel_threshold"])
    checks = [
        check("frames", frames, "==", want_frames),
        check("fps", fps, "==", float(want_fps)),
        check("width", int(video["width"]), "==", spec["still"]["width"], "px"),
        check("height", int(video["height"]), "==", spec["still"]["height"], "px"),
        check("duration", round(duration, 4), "==", round(want_frames / want_fps, 4), "s"),
        check("black_fraction", round(black / duration, 4) if duration else 1.0, "<=", thresholds["max_black_fraction"]),
    ]
    item = f"{spec['still']['episode']}/{spec['still']['shot']}"
    return make_report("clip", item, checks, {"file": str(path)})
