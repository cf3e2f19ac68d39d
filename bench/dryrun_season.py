"""Dry-run cost of a generated season against a bare Snakemake DAG of the same job count.

    python bench/dryrun_season.py [--episodes 12] [--shots 40] [--repeat 3]

Both dry runs are made side by side in this one process (best of --repeat), so the
ratio is what the story plan, the input functions and the JSON params cost on top of
Snakemake's own DAG building.
"""

import argparse
import random
import shutil

import yaml
from common import job_total, scratch_workflow, timed_snakemake

MOVES = ["static", "push_in", "pull_out", "pan_left", "pan_right"]
MOODS = ["tense", "calm", "mysterious", "ominous", "hopeful", "action"]


def write_season(work, episodes, shots_per_episode, scenes_per_episode=4):
    rng = random.Random(7)
    ep_dir = work / "season" / "episodes"
    ep_dir.mkdir(parents=True)
    for e in range(1, episodes + 1):
        scenes = []
        per_scene = max(1, shots_per_episode // scenes_per_episode)
        for s in range(scenes_per_episode):
            shots = []
            for k in range(per_scene):
                shot = {
                    "id": f"s{s + 1:02d}_{k + 1:02d}",
                    "frames": 121,
                    "camera": rng.choice(MOVES),
                    "action": f"Shot {k + 1} of scene {s + 1}.",
                    "seed": rng.randrange(1 << 31),
                    "characters": rng.sample(["akira", "luna", "viktor"], rng.randint(0, 2)),
                }
                if k % 2 == 0:
                    shot["dialogue"] = [{"speaker": rng.choice(["akira", "luna", "viktor"]), "text": "A line."}]
                shots.append(shot)
            scenes.append(
                {
                    "id": f"sc{s + 1:02d}",
                    "title": f"Scene {s + 1}",
                    "location": "city street",
                    "time_of_day": "night",
                    "mood": rng.choice(MOODS),
                    "shots": shots,
                    "transition": "crossfade" if s else "cut",
                }
            )
        with open(ep_dir / f"ep{e:02d}.yaml", "w") as f:
            yaml.safe_dump({"title": f"Episode {e}", "scenes": scenes}, f, sort_keys=False)
    with open(work / "season" / "config.yaml", "w") as f:
        yaml.safe_dump({"story": {"episodes_dir": "season/episodes", "episodes": []}}, f)


def write_bare(work, jobs):
    """A bare three-step chain per item plus one aggregate: the same number of jobs."""
    items = max(1, (jobs - 1) // 3)
    (work / "bare").mkdir()
    (work / "bare" / "Snakefile").write_text(f"""
rule all:
    input: expand("c/{{i}}.txt", i=range({items}))
rule a:
    output: "a/{{i}}.txt"
    shell: "touch {{output}}"
rule b:
    input: "a/{{i}}.txt"
    output: "b/{{i}}.txt"
    shell: "touch {{output}}"
rule c:
    input: "b/{{i}}.txt"
    output: "c/{{i}}.txt"
    shell: "touch {{output}}"
""")
    return work / "bare"


def best(workdir, repeat, *args):
    runs = [timed_snakemake(workdir, *args) for _ in range(repeat)]
    return min(r[0] for r in runs), runs[0][1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument("--shots", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = scratch_workflow("tower-bench-dryrun-")
    try:
        write_season(work, args.episodes, args.shots)
        tower_s, text = best(work, args.repeat, "-n", "--configfile", "season/config.yaml")
        jobs = job_total(text)
        bare = write_bare(work, jobs)
        bare_s, bare_text = best(bare, args.repeat, "-n", "--cores", "1")
        print(
            f"season: {args.episodes} episodes x {args.shots} shots -> {jobs} jobs (bare DAG: {job_total(bare_text)} jobs)"
        )
        print(f"dry run, nothing built: tower {tower_s:.2f} s, bare {bare_s:.2f} s (best of {args.repeat})")
        print(f"ratio tower/bare: {tower_s / bare_s:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
