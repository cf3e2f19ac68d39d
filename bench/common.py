"""Shared by the benchmarks: a scratch copy of the workflow and a timed Snakemake call."""

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ["Snakefile", "rules", "scripts", "config", "profiles", "report"]


def scratch_workflow(prefix):
    """The workflow's files (no outputs) in a new temporary folder."""
    dest = Path(tempfile.mkdtemp(prefix=prefix))
    for part in PARTS:
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / part)
    return dest


def demo_plan(work, episode):
    """The workflow's config (in `work`) and the episode's plan, as the Snakefile makes them."""
    from tower_anime.config import load_config
    from tower_anime.story import load_story, plan_story

    cfg = load_config(work / "config" / "config.yaml")
    story = load_story(work / cfg["story"]["characters"], work / cfg["story"]["episodes_dir"])
    return cfg, plan_story(story, cfg)[episode]


def timed_snakemake(workdir, *args):
    """Seconds a snakemake call takes (wall clock) and its output; raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed in {workdir}:\n{proc.stderr[-4000:]}")
    return seconds, proc.stdout + proc.stderr


def job_total(dry_run_text):
    match = re.search(r"^total\s+(\d+)$", dry_run_text, re.M)
    return int(match.group(1)) if match else 0
