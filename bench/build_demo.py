"""Build the demo episode from scratch and print wall time / episode duration.

    python bench/build_demo.py [--cores 2] [--keep]

A ratio of 1.0 means the animatic takes as long to build as to watch.
"""

import argparse
import shutil

from common import scratch_workflow, timed_snakemake

from tower_anime.config import load_config
from tower_anime.story import load_story, plan_story


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", default="2")
    ap.add_argument("--episode", default="ep01")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    work = scratch_workflow("tower-bench-build-")
    try:
        cfg = load_config(work / "config" / "config.yaml")
        story = load_story(work / cfg["story"]["characters"], work / cfg["story"]["episodes_dir"])
        duration = plan_story(story, cfg)[args.episode].duration
        seconds, _ = timed_snakemake(work, "--cores", args.cores, f"episodes/{args.episode}.mkv")
        print(f"episode {args.episode}: {duration:.2f} s of picture")
        print(f"build from scratch ({args.cores} cores): {seconds:.1f} s wall")
        print(f"ratio wall/episode: {seconds / duration:.2f}")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
