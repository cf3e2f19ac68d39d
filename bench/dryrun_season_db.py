"""Dry-run cost of a generated season read from the database against the same season read
from its YAML files (story.source: database vs yaml; SQLite, the embedded default).

    python bench/dryrun_season_db.py [--episodes 12] [--shots 40] [--repeat 3]

Both dry runs are made side by side in this one process (best of --repeat); the ratio is
what reading and checking the story from the database costs at every Snakemake start.
"""

import argparse
import shutil
import subprocess
import sys

import yaml
from common import job_total, scratch_workflow, timed_snakemake
from dryrun_season import write_season


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--shots", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = scratch_workflow("tower-bench-db-")
    try:
        run(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work, args):
    write_season(work, args.episodes, args.shots)
    folder = work / "season"
    (folder / "characters.yaml").write_text((work / "config" / "characters.yaml").read_text())
    subprocess.run(
        [sys.executable, "-m", "tower_anime.cli", "db", "import", "season"],
        cwd=work,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(folder / "config.yaml") as f:
        cfg = yaml.safe_load(f)
    cfg["story"]["source"] = "database"  # the default database: sqlite:///build/tower.db
    with open(folder / "config_db.yaml", "w") as f:
        yaml.safe_dump(cfg, f)

    best = {}
    for _ in range(args.repeat):
        for name, config in (("yaml", "season/config.yaml"), ("database", "season/config_db.yaml")):
            seconds, out = timed_snakemake(work, "-n", "--configfile", config)
            best[name] = min(best.get(name, seconds), seconds)
            jobs = job_total(out)
    print(f"season: {args.episodes} episodes x {args.shots} shots, {jobs} jobs (dry run, nothing built)")
    print(f"  story from YAML files:        {best['yaml']:.2f} s")
    print(f"  story from SQLite (database): {best['database']:.2f} s")
    print(f"  ratio database / yaml: {best['database'] / best['yaml']:.2f}")


if __name__ == "__main__":
    main()
