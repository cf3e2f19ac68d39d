"""Do the rule priorities keep one model on the card? The order in which GPU jobs run.

    python bench/gpu_order.py [--shots 60] [--subsample 50 100000] [--sleep 0.05]

A bare DAG shaped like an episode (per shot: a still, a clip after it, and a CPU job beside
them) runs with the profile's scheduler settings (greedy, --resources gpu=1) and each
--scheduler-subsample given. Prints the number of model switches on the card (ideal: 1,
all stills then all clips) and the wall time. Snakemake's subsample draws the ready jobs
it looks at at random, so once more than that many are ready, a clip can be picked while
stills are still waiting: a switch to the video model and back.
"""

import argparse
import tempfile
import time
from pathlib import Path

from common import timed_snakemake

SNAKEFILE = """
N = int(config["shots"])
rule all:
    input: expand("clips/{{i}}.txt", i=range(N)), expand("audio/{{i}}.txt", i=range(N))
rule still:
    output: "stills/{{i}}.txt"
    resources: gpu=1
    priority: 20
    shell: "sleep {sleep}; echo still >> order.log; touch {{output}}"
rule clip:
    input: "stills/{{i}}.txt"
    output: "clips/{{i}}.txt"
    resources: gpu=1
    priority: 10
    shell: "sleep {sleep}; echo clip >> order.log; touch {{output}}"
rule audio:
    output: "audio/{{i}}.txt"
    shell: "sleep {sleep}; touch {{output}}"
"""


def switches(order):
    return sum(1 for a, b in zip(order, order[1:]) if a != b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shots", type=int, default=60)
    ap.add_argument("--subsample", type=int, nargs="+", default=[50, 100000])
    ap.add_argument("--sleep", type=float, default=0.05)
    args = ap.parse_args()
    print(f"{args.shots} shots: {2 * args.shots} GPU jobs, {args.shots} CPU jobs; --cores 2 --resources gpu=1, greedy")
    for subsample in args.subsample:
        work = Path(tempfile.mkdtemp(prefix="tower-bench-gpu-"))
        (work / "Snakefile").write_text(SNAKEFILE.format(sleep=args.sleep))
        t0 = time.perf_counter()
        seconds, _ = timed_snakemake(
            work,
            "--cores",
            "2",
            "--resources",
            "gpu=1",
            "--scheduler",
            "greedy",
            "--scheduler-subsample",
            str(subsample),
            "--config",
            f"shots={args.shots}",
        )
        del t0
        order = (work / "order.log").read_text().split()
        first_clip = order.index("clip")
        print(
            f"  subsample {subsample:>6}: {switches(order):3d} model switch(es) (ideal 1), "
            f"{order[first_clip:].count('still')} still(s) after the first clip, wall {seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
