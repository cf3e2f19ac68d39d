"""The animatic's speed, as ratios measured side by side in this one run.

    python bench/animatic.py [--cores 2] [--episode ep01] [--season] [--keep]

1. A bare FFmpeg encode of the demo's duration and frame size (testsrc2, x264 veryfast).
2. The demo episode built from scratch (`snakemake --cores N episodes/<ep>.mkv`).
3. A one-shot edit (one shot's action) rebuilt.
4. With --season: a season dry run (12 x 40 shots) against a bare Snakemake DAG of the same
   job count (bench/dryrun_season.py, best of 3).
Then the largest max RSS of any job of the build (Snakemake's benchmark records) and the
per-rule table of bench/profile_jobs.py.
"""

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from common import demo_plan, job_total, scratch_workflow, timed_snakemake
from profile_jobs import job_records


def bare_encode(seconds: float, width: int, height: int, fps: int) -> float:
    """Wall seconds of a bare x264 veryfast encode of a test pattern of that length and size."""
    with tempfile.TemporaryDirectory(prefix="tower-bench-bare-") as tmp:
        t0 = time.perf_counter()
        subprocess.run(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=s={width}x{height}:r={fps}:d={seconds:.3f}",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                str(Path(tmp) / "bare.mkv"),
            ],
            check=True,
        )
        return time.perf_counter() - t0


def edit_one_shot(work: Path, episode: str) -> str:
    """Change the action of the episode's second shot; returns its id."""
    path = work / "config" / "episodes" / f"{episode}.yaml"
    doc = yaml.safe_load(path.read_text())
    shot = [s for scene in doc["scenes"] for s in scene["shots"]][1]
    shot["action"] = shot["action"].rstrip(".") + ", then looks back."
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return shot["id"]


def season_ratio(repeat: int = 3) -> tuple[int, float, float]:
    from dryrun_season import best, write_bare, write_season

    work = scratch_workflow("tower-bench-dryrun-")
    try:
        write_season(work, 12, 40)
        tower_s, text = best(work, repeat, "-n", "--configfile", "season/config.yaml")
        jobs = job_total(text)
        bare_s, _ = best(write_bare(work, jobs), repeat, "-n", "--cores", "1")
        return jobs, tower_s, bare_s
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", default="2")
    ap.add_argument("--episode", default="ep01")
    ap.add_argument("--season", action="store_true", help="also the season dry run against a bare DAG")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    work = scratch_workflow("tower-bench-animatic-")
    try:
        _, plan = demo_plan(work, args.episode)
        target = f"episodes/{args.episode}.mkv"
        bare = bare_encode(plan.duration, plan.width, plan.height, plan.fps)
        scratch, text = timed_snakemake(work, "--cores", args.cores, target)
        records = job_records(work)
        rss = max(((r[2], r[3]) for rows in records.values() for r in rows), default=(0.0, "-"))
        jobs = sum(len(v) for v in records.values())
        profile = subprocess.run(
            ["python", str(Path(__file__).with_name("profile_jobs.py")), str(work)], capture_output=True, text=True
        ).stdout
        shot = edit_one_shot(work, args.episode)
        edit, edit_text = timed_snakemake(work, "--cores", args.cores, target)
        rerun = job_total(edit_text)
        print(f"episode {args.episode}: {plan.duration:.2f} s, {plan.width}x{plan.height} at {plan.fps} fps")
        print(f"bare FFmpeg encode (testsrc2, x264 veryfast): {bare:.2f} s")
        print(
            f"demo from scratch ({args.cores} cores, {jobs} benchmarked jobs): {scratch:.1f} s, "
            f"ratio {scratch / bare:.2f} x the bare encode"
        )
        print(
            f"one-shot edit ({shot}'s action; {rerun or '?'} jobs): {edit:.1f} s, "
            f"ratio {edit / bare:.2f} x the bare encode"
        )
        print(f"largest max RSS of a job: {rss[0]:.0f} MB ({rss[1]})")
        if args.season:
            jobs, tower_s, bare_s = season_ratio()
            print(
                f"season dry run: {jobs} jobs, tower {tower_s:.2f} s, bare DAG {bare_s:.2f} s, "
                f"ratio {tower_s / bare_s:.2f}"
            )
        print(profile)
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
