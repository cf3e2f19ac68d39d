"""The workflow on a real one-node SLURM cluster, through Snakemake's SLURM executor: with the
embedded backends (a failed job, --keep-going, the resumed run) and through the ComfyUI test
double as one ComfyUI per GPU node on localhost (config/cluster-comfyui-local.yaml).

Marked `slurm` (deselect locally with `pytest -m "not slurm"`); CI runs it: .ci/run installs
slurmctld/slurmd/munge through setup.sh and runs the whole suite. One cluster run of the small
episode costs 1.5 to 4 minutes here (the status checks back off by 10 s each), so each test
makes as few as it can and the cluster is started once for the module.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from comfyui_server import FakeComfyUI
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


def run_on_cluster(work, *args, configs=("tests/data/config.yaml",)):
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/slurm", *args, "--configfile", *configs]
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900)


def check_delivered(work, size=None):
    mkv = work / "episodes" / f"{EP}.mkv"
    info = probe(mkv)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio", "subtitle"}
    if size:
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == size
    assert abs(count_frames(mkv) - 158) <= 1
    assert json.loads((work / "reports" / EP / "episode.json").read_text())["pass"]


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
    # Viktor's voice from a service that is not running (loopback, nothing listens): his line's
    # job fails on the cluster, the others do not depend on it
    chars["characters"]["viktor"]["voice"]["engine"] = "http"
    dump_yaml(chars, chars_path)

    proc = run_on_cluster(work, "--keep-going")
    assert proc.returncode != 0
    assert "Error in rule voice" in proc.stderr and "s3_l1" in proc.stderr
    assert "SLURM-job" in proc.stderr and "failed" in proc.stderr
    for shot in ("s1", "s2"):  # what did not depend on the failed line was still built
        assert (work / "clips" / EP / f"{shot}.mp4").exists()
        assert (work / "reports" / EP / "clips" / f"{shot}.json").exists()
    # s3's clip moves Viktor's mouth with his line: it waits for that voice
    assert (work / "stills" / EP / "s3.png").exists() and not (work / "clips" / EP / "s3.mp4").exists()
    assert (work / "audio" / EP / "voice" / "s1_l1.wav").exists()
    assert not (work / "audio" / EP / "voice" / "s3_l1.wav").exists()
    assert not (work / "episodes" / f"{EP}.mkv").exists()

    del chars["characters"]["viktor"]["voice"]["engine"]
    dump_yaml(chars, chars_path)
    proc = run_on_cluster(work)
    assert proc.returncode == 0, proc.stderr[-4000:] + cluster.logs()
    assert "rule still:" not in proc.stdout + proc.stderr  # resumed: no render ran again

    check_delivered(work)

    intervals = gpu_intervals(work)
    assert len(intervals) == 6  # 3 stills + 3 clips
    assert all(iv[3] != "-" for iv in intervals), intervals  # each ran inside a SLURM job
    assert overlaps(intervals) == []  # one GPU: never two at once


def test_comfyui_one_server_per_node_delivers_the_episode(cluster, tmp_path):
    """The README's per-node command on the cluster: every still and clip is a SLURM job with the
    node's GPU, renders on the node's own ComfyUI (the test double on 127.0.0.1), checks that
    server itself (comfyui.preflight: per-job) and locks it in a node-local folder."""
    server = FakeComfyUI(tmp_path / "comfy").start()
    try:
        work = copy_workflow(tmp_path / "wf")
        node_locks = tmp_path / "node-locks"  # the node's own /tmp in config/cluster-comfyui-local.yaml
        dump_yaml({"comfyui": {"servers": [server.url], "lock_dir": str(node_locks)}}, work / "servers.yaml")
        configs = (
            "tests/data/config.yaml",
            "config/comfyui.yaml",
            "tests/data/comfyui/config.yaml",
            "config/cluster-comfyui-local.yaml",
            "servers.yaml",
        )
        proc = run_on_cluster(work, f"episodes/{EP}.mkv", configs=configs)
        assert proc.returncode == 0, proc.stderr[-4000:] + cluster.logs()
        assert "ComfyUI preflight: per-job; each of the 6 job(s) checks its own server" in proc.stderr
        assert "ComfyUI preflight OK" not in proc.stderr  # the submitting host checked no server
        check_delivered(work, size=(256, 160))

        intervals = gpu_intervals(work)
        assert len(intervals) == 6
        assert all(iv[3] != "-" for iv in intervals), intervals  # each ran inside a SLURM job
        assert overlaps(intervals) == []  # one GPU: never two at once
        for d in GPU_LOG_DIRS:
            for log in (work / "logs" / EP / d).glob("*.log"):
                text = log.read_text()
                assert f"preflight OK on {server.url}" in text and f"using {server.url}" in text, text
        runs = [(r.start, r.end, r.prompt_id) for r in server.executions]
        assert len(runs) == 6 and all(r.status == "success" for r in server.executions)
        assert overlaps(runs) == [] and server.max_outstanding == 1  # the card ran one prompt at a time
        assert list(node_locks.glob("*.lock"))  # the lock lived in the node's folder
        assert not (work / ".tower" / "comfyui-locks").exists()  # not the shared default
    finally:
        server.stop()
