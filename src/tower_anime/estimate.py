"""Predict a target's wall time on N GPUs from the `benchmark:` records of earlier runs.

The job graph comes from Snakemake itself (a forced dry run of the target), so the estimate
follows the real workflow; the durations are each rule's mean over its benchmark records
(benchmarks/<rule>/...tsv); a list scheduler then replays the graph on `cores` CPU slots and
`gpus` cards, the way Snakemake's greedy scheduler hands out ready jobs by priority.
"""

from __future__ import annotations

import csv
import heapq
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from .errors import TowerError

DEFAULT_SECONDS = 1.0  # a rule with no record yet: counted, and named in the output


@dataclass
class Job:
    jobid: int
    rule: str
    outputs: list
    inputs: list
    threads: int = 1
    gpu: int = 0
    priority: int = 0
    deps: set = field(default_factory=set)


def read_benchmarks(root: Path | str = "benchmarks") -> dict[str, list[float]]:
    """{rule: [seconds, ...]} from Snakemake benchmark files laid out as benchmarks/<rule>/..."""
    records = {}
    root = Path(root)
    for tsv in sorted(root.rglob("*.tsv")):
        rule = tsv.relative_to(root).parts[0]
        with open(tsv, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                try:
                    records.setdefault(rule, []).append(float(row["s"]))
                except (KeyError, ValueError):
                    continue
    return records


_BLOCK = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n?)+)", re.M)


def _field(body, name):
    m = re.search(rf"^    {name}: (.*)$", body, re.M)
    return m.group(1).strip() if m else ""


def parse_dry_run(text: str) -> list[Job]:
    """Jobs (with dependencies) from the text of `snakemake --forceall -n`."""
    jobs = []
    for rule, body in _BLOCK.findall(text):
        jobid = _field(body, "jobid")
        if not jobid:
            continue
        resources = dict(kv.split("=", 1) for kv in _field(body, "resources").split(", ") if "=" in kv)
        jobs.append(
            Job(
                jobid=int(jobid),
                rule=rule,
                outputs=[p for p in _field(body, "output").split(", ") if p],
                inputs=[p for p in _field(body, "input").split(", ") if p],
                threads=int(_field(body, "threads") or 1),
                gpu=int(float(resources.get("gpu", 0) or 0)),
                priority=int(_field(body, "priority") or 0),
            )
        )
    producer = {out: j.jobid for j in jobs for out in j.outputs}
    for j in jobs:
        j.deps = {producer[i] for i in j.inputs if i in producer and producer[i] != j.jobid}
    return jobs


def planned_jobs(
    targets: Sequence[str], snakemake_args: Sequence[str] = (), workdir: Path | str = ".", cores: int = 2
) -> list[Job]:
    # --cores matters even in a dry run: Snakemake caps each job's threads at it
    cmd = [sys.executable, "-m", "snakemake", *targets, "--forceall", "-n", "--cores", str(cores), *snakemake_args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise TowerError(f"could not plan {' '.join(targets)}:\n{proc.stderr.strip()[-2000:]}")
    jobs = parse_dry_run(proc.stdout + proc.stderr)
    if not jobs:
        raise TowerError(f"the dry run of {' '.join(targets)} planned no jobs")
    return jobs


def simulate(
    jobs: Sequence[Job], seconds: Callable[[Job], float], cores: int, gpus: int, job_overhead: float = 0.0
) -> float:
    """Makespan of a greedy list schedule: highest priority first among ready jobs."""
    by_id = {j.jobid: j for j in jobs}
    waiting = {j.jobid: set(j.deps) for j in jobs}
    children = {j.jobid: [] for j in jobs}
    for j in jobs:
        for d in j.deps:
            children[d].append(j.jobid)
    ready = [j.jobid for j in jobs if not j.deps]
    running, now, free_cores, free_gpus, done = [], 0.0, cores, gpus, 0
    while done < len(jobs):
        ready.sort(key=lambda i: (-by_id[i].priority, i))
        started = True
        while started:
            started = False
            for i in ready:
                job = by_id[i]
                need = min(job.threads, cores)
                if need <= free_cores and job.gpu <= free_gpus:
                    ready.remove(i)
                    free_cores -= need
                    free_gpus -= job.gpu
                    heapq.heappush(running, (now + seconds(job) + job_overhead, i))
                    started = True
                    break
        if not running:
            raise TowerError(f"the job graph cannot be scheduled with these resources (cores={cores}, gpus={gpus})")
        now, i = heapq.heappop(running)
        job = by_id[i]
        free_cores += min(job.threads, cores)
        free_gpus += job.gpu
        done += 1
        for c in children[i]:
            waiting[c].discard(i)
            if not waiting[c]:
                ready.append(c)
    return now


@dataclass
class Estimate:
    jobs: list
    per_rule: dict  # rule -> (count, mean seconds, records or 0)
    predictions: dict  # gpus -> seconds
    missing: list


def estimate(
    jobs: list[Job],
    records: dict[str, list[float]],
    gpus_options: Iterable[int],
    cores: int,
    job_overhead: float = 0.1,
    startup: float = 3.0,
) -> Estimate:
    means = {rule: mean(v) for rule, v in records.items() if v}
    per_rule = {}
    for j in jobs:
        count, _, n = per_rule.get(j.rule, (0, 0, 0))
        per_rule[j.rule] = (count + 1, means.get(j.rule, DEFAULT_SECONDS), len(records.get(j.rule, [])))
    missing = sorted(r for r, (_, _, n) in per_rule.items() if n == 0)

    def seconds(job):
        return means.get(job.rule, DEFAULT_SECONDS)

    predictions = {g: startup + simulate(jobs, seconds, cores, g, job_overhead) for g in gpus_options}
    return Estimate(jobs=jobs, per_rule=per_rule, predictions=predictions, missing=missing)


def fmt_seconds(s: float) -> str:
    s = round(s)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}h {m:02d}m {sec:02d}s" if h else f"{m}m {sec:02d}s"


def describe_estimate(est: Estimate, targets: Sequence[str], cores: int) -> str:
    gpu_jobs = [j for j in est.jobs if j.gpu]
    lines = [
        f"target: {' '.join(targets)}: {len(est.jobs)} jobs ({len(gpu_jobs)} on a GPU)",
        f"{'rule':<14}{'jobs':>6}{'mean s':>9}{'total s':>10}  records",
    ]
    for rule, (count, secs, n) in sorted(est.per_rule.items(), key=lambda kv: -kv[1][0] * kv[1][1]):
        lines.append(f"{rule:<14}{count:>6}{secs:>9.2f}{count * secs:>10.1f}  {n or 'none (assumed)'}")
    gpu_work = sum(est.per_rule[j.rule][1] for j in gpu_jobs)
    lines.append(f"GPU work {gpu_work:.1f} s; all work {sum(c * s for c, s, _ in est.per_rule.values()):.1f} s")
    lines.append(f"predicted wall time with {cores} CPU slots:")
    for g, s in est.predictions.items():
        lines.append(f"  {g} GPU{'s' if g != 1 else ''}: {fmt_seconds(s)} ({s:.1f} s)")
    if est.missing:
        lines.append(
            f"no benchmark records yet for: {', '.join(est.missing)} (assumed {DEFAULT_SECONDS} s each; "
            "build something once to measure them)"
        )
    return "\n".join(lines)
