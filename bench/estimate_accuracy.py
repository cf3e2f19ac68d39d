"""How close `tower-anime estimate` comes to a measured build.

    python bench/estimate_accuracy.py [--episode ep01] [--cores 2]

Builds the episode once to collect benchmark records, then (in the same scratch folder and
the same run) estimates a rebuild from scratch, rebuilds with --forceall, and prints the
predicted and measured wall times and their ratio.
"""

import argparse
import shutil
import subprocess
import sys

from common import scratch_workflow, timed_snakemake


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episode", default="ep01")
    ap.add_argument("--cores", default="2")
    ap.add_argument("--configfile")
    args = ap.parse_args()
    work = scratch_workflow("tower-bench-estimate-")
    extra = ["--configfile", args.configfile] if args.configfile else []
    target = f"episodes/{args.episode}.mkv"
    try:
        timed_snakemake(work, "--cores", args.cores, target, *extra)  # collect records
        proc = subprocess.run(
            [sys.executable, "-m", "tower_anime.cli", "estimate", target, "--gpus", "1", "--cores", args.cores, *extra],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            sys.exit(proc.stderr)
        print(proc.stdout)
        predicted = float(proc.stdout.split("1 GPU: ")[1].split("(")[1].split(" s)")[0])
        measured, _ = timed_snakemake(work, "--cores", args.cores, "--forceall", target, *extra)
        print(f"predicted {predicted:.1f} s, measured {measured:.1f} s, ratio {predicted / measured:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
