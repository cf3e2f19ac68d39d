"""Time the clip QC on a 121-frame 768x512 clip (the LTX-Video length) and print seconds per clip.

    python bench/qc_clip.py [--repeat 7] [--cores 2]

The clip is a real camera move over a storyboard still. Every check of the clip gate
runs (one decode to half-size grey through an FFmpeg pipe, the first frame against its
still, the thumbnail strip). For scale it also times what the first-cut gate did for
fewer checks (an exact frame count and FFmpeg blackdetect: two full decodes) and a
still's checks. Best and median of --repeat runs; the process is pinned to --cores CPUs.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tower_anime.clips.camera import render_camera_clip  # noqa: E402
from tower_anime.config import load_config  # noqa: E402
from tower_anime.media import count_frames, ffmpeg  # noqa: E402
from tower_anime.qc.clip import clip_report  # noqa: E402
from tower_anime.qc.still import still_report  # noqa: E402
from tower_anime.stills import caption_height  # noqa: E402
from tower_anime.stills import storyboard as sb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeat):
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs), statistics.median(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))[: args.cores]
    os.sched_setaffinity(0, cpus)  # FFmpeg children inherit it
    qc = load_config(ROOT / "config" / "config.yaml")["qc"]
    still = {
        "episode": "bench",
        "scene": "sc",
        "shot": "sh",
        "location": "Neo-Tokyo street market under neon",
        "time_of_day": "night",
        "camera": {"move": "push_in", "framing": "medium"},
        "action": "Akira weaves between the stalls.",
        "seed": 1102,
        "width": 768,
        "height": 512,
        "backend": "storyboard",
        "characters": [
            {
                "id": "akira",
                "name": "Akira",
                "palette": {"hair": "#17141f", "skin": "#e8b98a", "outfit": "#00a8ff", "accent": "#b8c4d0"},
            }
        ],
    }
    spec = {
        "still": still,
        "frames": 121,
        "fps": 24,
        "backend": "camera",
        "hold_top": caption_height("storyboard", 512),
    }
    with tempfile.TemporaryDirectory(prefix="tower-bench-qc-") as tmp:
        tmp = Path(tmp)
        sb.render_storyboard(still, tmp / "still.png")
        render_camera_clip(spec, tmp / "still.png", tmp / "clip.mp4")
        report = clip_report(tmp / "clip.mp4", spec, qc["clip"], tmp / "still.png")
        assert report["pass"], report
        gate = timed(
            lambda: clip_report(tmp / "clip.mp4", spec, qc["clip"], tmp / "still.png", thumb=tmp / "strip.jpg"),
            args.repeat,
        )
        first_cut = timed(
            lambda: (
                count_frames(tmp / "clip.mp4"),
                ffmpeg(
                    ["-i", tmp / "clip.mp4", "-vf", "blackdetect=d=0:pix_th=0.08", "-an", "-f", "null", "-"],
                    "blackdetect",
                ),
            ),
            args.repeat,
        )
        still_gate = timed(lambda: still_report(tmp / "still.png", still, qc["still"]), args.repeat)
    print(f"CPUs: {len(cpus)} ({cpus}); clip: 121 frames 768x512 H.264; {len(report['checks'])} checks")
    print(f"clip QC, every check + thumbnail strip: best {gate[0]:.3f} s, median {gate[1]:.3f} s per clip")
    print(f"first-cut gate (frame count + blackdetect only): best {first_cut[0]:.3f} s, median {first_cut[1]:.3f} s")
    print(f"ratio clip QC / first cut (median): {gate[1] / first_cut[1]:.2f}")
    print(f"still QC: best {still_gate[0]:.3f} s, median {still_gate[1]:.3f} s per still")


if __name__ == "__main__":
    main()
