"""Where a build's time goes, per rule: process start and imports against the job's own work.

    python bench/profile_jobs.py WORKDIR [--imports]

WORKDIR is a built workflow folder (e.g. `python bench/build_demo.py --keep`). For each rule
it reads Snakemake's benchmark records (benchmarks/<rule>/**.tsv: wall seconds and max RSS of
the whole job) and the `[tower] start/end` stamps that scripting.run_step writes to each job
log (the work itself, after the script's imports). Overhead = job wall - work: interpreter
start, Snakemake's script preamble (unpickling its `snakemake` object) and the imports.
With --imports, each script's top-level imports are also timed in a fresh interpreter
(best of 3, less a bare `python -c pass`).
"""

import argparse
import ast
import csv
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"^\[tower\] (start|end) ([0-9.]+)", re.M)


def job_records(work: Path) -> dict:
    """{rule: [(wall_s, work_s or None, max_rss_mb)]} from benchmark TSVs and job logs."""
    found = defaultdict(list)
    for tsv in sorted((work / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(work / "benchmarks").parts[0]
        with open(tsv) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        row = rows[-1]
        wall = float(row["s"])
        rss = float(row["max_rss"]) if row.get("max_rss") not in (None, "", "NA", "-") else 0.0
        found[rule].append((wall, _work_seconds(work, tsv), rss, str(tsv.relative_to(work))))
    return found


def _work_seconds(work: Path, tsv: Path):
    """Seconds between the start and end stamps of the job log that matches this record."""
    rel = tsv.relative_to(work / "benchmarks")
    rule, rest = rel.parts[0], Path(*rel.parts[1:]).with_suffix("")
    plural = {"still": "stills", "clip": "clips", "voice": "voices", "qc_still": "qc_stills", "qc_clip": "qc_clips"}
    candidates = [
        work / "logs" / rest.parent / plural.get(rule, rule) / (rest.name + ".log"),
        work / "logs" / rest.parent / rule / (rest.name + ".log"),
        work / "logs" / (str(rest) + f".{rule}.log"),
        work / "logs" / rest.parent / (rest.name + f".{rule}.log"),
        work / "logs" / rest / f"{rule}.log",
    ]
    candidates += sorted((work / "logs").rglob(f"{rest.name}*.log"))
    for log in candidates:
        if log.is_file():
            stamps = dict((k, float(v)) for k, v in STAMP.findall(log.read_text(errors="replace")))
            if "start" in stamps and "end" in stamps and _rule_of(log) in (None, rule):
                return stamps["end"] - stamps["start"]
    return None


def _rule_of(log: Path):
    match = re.search(r"rule=(\S+)", log.read_text(errors="replace"))
    return match.group(1) if match else None


def import_seconds(script: Path, repeat: int = 3) -> float:
    """Best-of seconds a fresh interpreter takes for the script's top-level imports (plus the
    snakemake.script module every `script:` job loads), less a bare interpreter start."""
    tree = ast.parse(script.read_text())
    lines = [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    code = "\n".join(["from snakemake.script import Snakemake", *lines])

    def best(src):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", src], check=True, cwd=ROOT)
            times.append(time.perf_counter() - t0)
        return min(times)

    return best(code) - best("pass")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--imports", action="store_true", help="also time each script's imports")
    args = ap.parse_args()
    records = job_records(args.workdir)
    bare = None
    if args.imports:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare = time.perf_counter() - t0
    print(
        f"{'rule':<16}{'jobs':>5}{'wall s':>9}{'work s':>9}{'overhead s':>11}{'ovh %':>7}"
        f"{'max RSS MB':>11}{'imports s':>10}"
    )
    total_wall = total_work = 0.0
    largest = (0.0, "")
    for rule, rows in sorted(records.items(), key=lambda kv: -sum(r[0] for r in kv[1])):
        wall = sum(r[0] for r in rows)
        work = sum(r[1] for r in rows if r[1] is not None)
        timed = sum(r[0] for r in rows if r[1] is not None)
        overhead = timed - work
        rss = max(r[2] for r in rows)
        for r in rows:
            largest = max(largest, (r[2], r[3]))
        total_wall += wall
        total_work += work
        imp = ""
        script = ROOT / "scripts" / f"{rule}.py"
        if args.imports:
            guess = [p for p in (ROOT / "scripts").glob("*.py") if rule in p.stem or p.stem.startswith(rule)]
            script = script if script.is_file() else (guess[0] if guess else None)
            imp = f"{import_seconds(script):.2f}" if script else "-"
        pct = f"{100 * overhead / timed:.0f}" if timed else "-"
        print(f"{rule:<16}{len(rows):>5}{wall:>9.2f}{work:>9.2f}{overhead:>11.2f}{pct:>7}{rss:>11.0f}{imp:>10}")
    print(
        f"{'all':<16}{sum(len(v) for v in records.values()):>5}{total_wall:>9.2f}{total_work:>9.2f}"
        f"{total_wall - total_work:>11.2f}"
    )
    print(f"largest max RSS: {largest[0]:.0f} MB ({largest[1]})")
    if bare is not None:
        print(f"bare interpreter start: {bare:.2f} s")


if __name__ == "__main__":
    main()
