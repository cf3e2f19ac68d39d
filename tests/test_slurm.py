"""The workflow on a real one-node SLURM cluster, through Snakemake's SLURM executor.

Marked `slurm` (deselect locally with `pytest -m "not slurm"`); CI runs it: .ci/run installs
slurmctld/slurmd/munge through setup.sh and runs the whole suite.
"""
import json
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path

import pytest

from conftest import copy_workflow, dump_yaml, load_yaml
from slurm_cluster import SlurmCluster
from tower_anime.joblog import job_interval, overlaps
from tower_anime.media import count_frames, probe

pytestmark = pytest.mark.slurm
EP = "test01"
GPU_LOG_DIRS = ("stills", "clips")


@pytest.fixture(scope="module")
def cluster():
    # not under pytest's tmp folder: that one is 0700 root, and munged runs as `munge`
    root = Path(tempfile.mkdtemp(prefix="tower-slurm-"))
    c = SlurmCluster(root, gpus=1)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


def run_on_cluster(work, *args):
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/slurm",
           "--configfile", "tests/data/config.yaml", *args]
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900)


def gpu_intervals(work):
    found = []
    for d in GPU_LOG_DIRS:
        for log in sorted((work / "logs" / EP / d).glob("*.log")):
            iv = job_interval(log)
            assert iv is not None, f"{log} has no start/end stamps"
            found.append((*iv[:2], log.name, iv[4]))
    return found


def test_failed_job_keep_going_then_resume_to_a_delivered_episode(cluster, tmp_path):
    """One cluster session, two runs (each run of the small episode costs about a minute here):
    a job that fails on the cluster is reported and --keep-going finishes everything else;
    the fixed re-run resumes with only what is missing and delivers the episode."""
    work = copy_workflow(tmp_path / "wf")
    chars_path = work / "config" / "characters.yaml"
    chars = load_yaml(chars_path)
    good_voice = chars["characters"]["viktor"]["voice"]["espeak_voice"]
    chars["characters"]["viktor"]["voice"]["espeak_voice"] = "zz"   # espeak-ng has no such voice
    dump_yaml(chars, chars_path)

    proc = run_on_cluster(work, "--keep-going")
    assert proc.returncode != 0
    assert "Error in rule voice" in proc.stderr and "s3_l1" in proc.stderr
    assert "SLURM-job" in proc.stderr and "failed" in proc.stderr
    for shot in ("s1", "s2", "s3"):   # what did not depend on the failed line was still built
        assert (work / "clips" / EP / f"{shot}.mp4").exists()
        assert (work / "reports" / EP / "clips" / f"{shot}.json").exists()
    assert (work / "audio" / EP / "voice" / "s1_l1.wav").exists()
    assert not (work / "audio" / EP / "voice" / "s3_l1.wav").exists()
    assert not (work / "episodes" / f"{EP}.mkv").exists()

    chars["characters"]["viktor"]["voice"]["espeak_voice"] = good_voice
    dump_yaml(chars, chars_path)
    proc = run_on_cluster(work)
    assert proc.returncode == 0, proc.stderr[-4000:] + cluster.logs()
    assert "rule still:" not in proc.stdout + proc.stderr    # resumed: no render ran again

    mkv = work / "episodes" / f"{EP}.mkv"
    info = probe(mkv)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio", "subtitle"}
    assert abs(count_frames(mkv) - 158) <= 1
    assert json.loads((work / "reports" / EP / "episode.json").read_text())["pass"]

    intervals = gpu_intervals(work)
    assert len(intervals) == 6                                  # 3 stills + 3 clips
    assert all(iv[3] != "-" for iv in intervals), intervals     # each ran inside a SLURM job
    assert overlaps(intervals) == []                            # one GPU: never two at once
