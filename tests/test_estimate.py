"""The render-time estimate: benchmark records, the job graph from a real dry run, the schedule."""

import subprocess
import sys

from conftest import copy_workflow

from tower_anime.estimate import Job, estimate, parse_dry_run, read_benchmarks, simulate
from tower_anime.joblog import overlaps


def job(i, rule, deps=(), gpu=0, threads=1, priority=0):
    return Job(
        jobid=i, rule=rule, outputs=[f"{i}"], inputs=[], threads=threads, gpu=gpu, priority=priority, deps=set(deps)
    )


def test_simulate_chain_parallel_and_gpu_limit():
    secs = {"a": 2.0, "g": 3.0, "z": 1.0}.get
    chain = [job(1, "a"), job(2, "a", deps=[1]), job(3, "a", deps=[2])]
    assert simulate(chain, lambda j: secs(j.rule), cores=4, gpus=1) == 6.0
    wide = [job(i, "a") for i in range(4)]
    assert simulate(wide, lambda j: secs(j.rule), cores=2, gpus=1) == 4.0
    gpu_jobs = [job(i, "g", gpu=1) for i in range(4)] + [job(9, "z", deps=range(4))]
    assert simulate(gpu_jobs, lambda j: secs(j.rule), cores=4, gpus=1) == 13.0  # one card: serial
    assert simulate(gpu_jobs, lambda j: secs(j.rule), cores=4, gpus=2) == 7.0
    assert simulate(gpu_jobs, lambda j: secs(j.rule), cores=4, gpus=4, job_overhead=0.5) == 5.0


def test_read_benchmarks_takes_the_rule_from_the_first_folder(tmp_path):
    header = "s\th:m:s\tmax_rss\n"
    (tmp_path / "clip" / "ep01").mkdir(parents=True)
    (tmp_path / "clip" / "ep01" / "a.tsv").write_text(header + "1.5\t0:00:01\t10\n")
    (tmp_path / "clip" / "ep01" / "b.tsv").write_text(header + "2.5\t0:00:02\t10\n")
    (tmp_path / "master").mkdir()
    (tmp_path / "master" / "ep01.tsv").write_text(header + "4.0\t0:00:04\t10\n")
    assert read_benchmarks(tmp_path) == {"clip": [1.5, 2.5], "master": [4.0]}


def test_job_graph_from_a_real_dry_run(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "episodes/test01.mkv",
            "--forceall",
            "-n",
            "--cores",
            "2",
            "--configfile",
            "tests/data/config.yaml",
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    jobs = parse_dry_run(proc.stdout + proc.stderr)
    rules = sorted(j.rule for j in jobs)
    assert rules.count("still") == 3 and rules.count("clip") == 3 and rules.count("voice") == 3
    by_rule = {}
    for j in jobs:
        by_rule.setdefault(j.rule, []).append(j)
    assert all(j.gpu == 1 for j in by_rule["still"] + by_rule["clip"])
    assert all(j.gpu == 0 for j in by_rule["voice"])
    ids = {j.jobid: j for j in jobs}
    clip = by_rule["clip"][0]
    # a clip waits for its still's gate, and for its own lines' voices (the mouths follow them)
    assert sorted(ids[d].rule for d in clip.deps) == ["qc_still", "still", "voice"]
    # a shot's picture segment waits for the clips it reads, and is cut beside their gates
    # (the master waits for those)
    for segment in by_rule["segment"]:
        deps = sorted(ids[d].rule for d in segment.deps)
        assert deps in (["clip"], ["clip", "clip"]), deps
    master = by_rule["master"][0]
    assert sorted(ids[d].rule for d in master.deps) == (
        ["mix", "qc_clip", "qc_clip", "qc_clip", "segment", "segment", "segment", "sound", "subtitles"]
    )
    # the sound is encoded once, from the mix, in its own job
    assert [ids[d].rule for d in by_rule["sound"][0].deps] == ["mix"]
    # the master copies the picture and the sound: one core
    assert master.threads == 1
    # CPU slots enough that the cards bind: three cards finish sooner than one
    est = estimate(jobs, {"clip": [2.0], "still": [1.0]}, [1, 3], cores=8, job_overhead=0, startup=0)
    assert est.predictions[3] < est.predictions[1]
    assert "voice" in est.missing and "clip" not in est.missing


def test_overlap_detection():
    assert overlaps([(0, 2, "a"), (2, 3, "b"), (3.5, 4, "c")]) == []
    found = overlaps([(0, 10, "a"), (2, 3, "b"), (5, 6, "c")])
    assert [(x[2], y[2]) for x, y in found] == [("a", "b"), ("a", "c")]
