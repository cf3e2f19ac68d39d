"""Load test of a ComfyUI pool: three test servers on loopback, a season-sized batch of GPU
jobs run by the real Snakemake with --resources gpu=3, one server killed mid-run.

Proves: each server runs at most one prompt at a time (the double records every prompt's
run), the job whose prompt was on the killed server is retried on another one and succeeds
(its log says so), and every output of the batch is valid (PNG decodes at the asked size,
MP4 has the asked frame count, size and rate).

Marked `load` (deselect with `pytest -m "not load"`); CI runs it with the whole suite.
"""

import json
import subprocess
import sys
import threading
import time

import pytest
from comfyui_server import FakeComfyUI
from conftest import copy_workflow, dump_yaml
from PIL import Image

from tower_anime.joblog import job_interval, overlaps

pytestmark = pytest.mark.load

# Size of the batch. A season here is 12 x 40 shots (bench/dryrun_season.py); rendering that
# through real job processes would take far too long on the 2 shared cores tests run on: each
# GPU job costs about 0.9 s of CPU here (a Python process that loads the Snakemake script
# object, the websocket, and for clips the server's H.264 encode and the client's ffprobe
# check). 3 episodes x 12 shots = 72 jobs (36 stills, 36 clips) of tiny frames (128x96: sizes
# in steps of 32, as LTX wants) and 9 frames (LTX's 8k+1, so no trim) took 38 s here, 75 s with
# the machine busy (3 x 20 would take up to 2 minutes): enough jobs that every server takes many in
# turn, the lock files are contended all the time (3 job slots for 3, then 2 servers) and the
# jobs must do without the killed server.
EPISODES, SHOTS, FRAMES = 3, 12, 9
WIDTH, HEIGHT, FPS = 128, 96, 24
KILL_AT = 5  # server B is stopped once it has started its 5th prompt
DEADLINE = 300  # seconds for the whole batch (38-75 s measured)


def write_season(work):
    """EPISODES episodes of SHOTS short shots each (2 scenes), no dialogue: GPU work only."""
    cast = ["akira", "luna", "viktor"]
    folder = work / "season"
    for e in range(1, EPISODES + 1):
        scenes = []
        for sc in range(2):
            shots = [
                {
                    "id": f"s{sc}_{i:02d}",
                    "frames": FRAMES,
                    "camera": "static",
                    "action": f"Shot {i} of scene {sc} in episode {e}.",
                    "characters": [cast[i % 3]],
                    "seed": 1000 * e + 100 * sc + i,
                }
                for i in range(SHOTS // 2)
            ]
            scenes.append(
                {
                    "id": f"sc{sc}",
                    "title": f"Scene {sc}",
                    "location": "Neo-Tokyo rooftop",
                    "time_of_day": "night",
                    "mood": "tense",
                    "shots": shots,
                }
            )
        dump_yaml({"title": f"Pool {e}", "scenes": scenes}, folder / f"p{e:02d}.yaml")
    return [f"p{e:02d}" for e in range(1, EPISODES + 1)]


def stop_mid_run(server, nth, deadline):
    """A watcher thread that stops `server` just after it starts its nth prompt; returns
    (thread, what, quit): what["prompt_id"] is the prompt it cut off; set quit to end it."""
    what, quit = {}, threading.Event()

    def watch():
        end = time.monotonic() + deadline
        while time.monotonic() < end and not quit.is_set():
            runs = list(server.executions)
            # just started (a still takes 0.2 s on the card here): it is surely still running
            if len(runs) >= nth and runs[-1].end is None and time.time() - runs[-1].start < 0.1:
                what["prompt_id"] = runs[-1].prompt_id
                server.stop()
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, name="stop-server-b", daemon=True)
    thread.start()
    return thread, what, quit


def media_facts(path):
    proc = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,r_frame_rate,nb_read_frames",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"{path}: {proc.stderr}"
    s = json.loads(proc.stdout)["streams"][0]
    return s["codec_name"], s["width"], s["height"], s["r_frame_rate"], int(s["nb_read_frames"])


def most_at_once(intervals):
    """The largest number of intervals (start, end, ...) that share a moment."""
    edges = sorted([(iv[0], 1) for iv in intervals] + [(iv[1], -1) for iv in intervals])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def test_a_pool_of_three_runs_a_season_batch_and_survives_a_killed_server(tmp_path):
    servers = [FakeComfyUI(tmp_path / name, step_seconds=0.05).start() for name in ("a", "b", "c")]
    a, b, c = servers
    watcher = quit = None
    try:
        work = copy_workflow(tmp_path / "work")
        episodes = write_season(work)
        dump_yaml(
            {
                "story": {"episodes_dir": "season", "episodes": episodes},
                "output": {"width": WIDTH, "height": HEIGHT, "fps": FPS},
                "comfyui": {
                    "servers": [s.url for s in servers],
                    "lock_dir": str(tmp_path / "locks"),
                    "retries": 3,
                    "backoff": 0.2,
                },
            },
            work / "pool.yaml",
        )
        shots = [(ep, f"s{sc}_{i:02d}") for ep in episodes for sc in range(2) for i in range(SHOTS // 2)]
        targets = [f"clips/{ep}/{shot}.mp4" for ep, shot in shots]  # each needs its still
        watcher, killed, quit = stop_mid_run(b, KILL_AT, DEADLINE)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                *targets,
                "--cores",
                "4",
                "--resources",
                "gpu=3",
                "--configfile",
                "tests/data/config.yaml",
                "config/comfyui.yaml",
                "tests/data/comfyui/config.yaml",
                "pool.yaml",
            ],
            cwd=work,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=DEADLINE,
        )
        quit.set()
        watcher.join(5)
        assert proc.returncode == 0, proc.stderr[-6000:]
        assert f"ComfyUI preflight OK for {2 * len(shots)} job(s)" in proc.stderr

        # each server ran at most one prompt at a time, and never had one waiting behind another
        for s in servers:
            runs = [(r.start, r.end, r.prompt_id) for r in s.executions]
            assert overlaps(runs) == [], s.url
            assert s.max_outstanding == 1, s.url
        assert a.executions and c.executions and len(b.executions) >= KILL_AT

        # the prompt cut off on B was the only one lost; its job went on elsewhere and succeeded
        pid = killed.get("prompt_id")
        assert pid, "server B never reached its 5th prompt"
        assert [r.status for r in b.executions if r.prompt_id == pid] == ["stopped"]
        runs = [r for s in servers for r in s.executions]
        assert sorted({r.status for r in runs}) == ["stopped", "success"]
        assert sum(r.status == "success" for r in runs) == 2 * len(shots)  # one render per job, none twice
        logs = [p for d in ("stills", "clips") for p in (work / "logs").glob(f"*/{d}/*.log")]
        moved = [p for p in logs if f"queued as prompt {pid}" in p.read_text()]
        assert len(moved) == 1, moved
        text = moved[0].read_text()
        after_kill = text[text.index(f"queued as prompt {pid}") :]
        # a server that went down is waited for (comfyui.restart_budget_s), here on another server
        assert "waiting for the server to come back" in after_kill, text
        retried_on = after_kill[after_kill.index("waiting for the server to come back") :]
        assert f"using {a.url}" in retried_on or f"using {c.url}" in retried_on, text
        assert "done: " in retried_on and "[tower] end" in retried_on, text
        # later jobs found B down and did without it
        assert any(f"WARNING: comfyui: server {b.url} is down" in p.read_text() for p in logs)

        # at most gpu=3 GPU jobs at once, from the jobs' own start/end stamps
        intervals = [job_interval(p) for p in logs]
        assert None not in intervals and len(intervals) == 2 * len(shots)
        assert most_at_once(intervals) <= 3

        # every output valid, nothing half-written
        for ep, shot in shots:
            with Image.open(work / "stills" / ep / f"{shot}.png") as img:
                img.load()
                assert img.size == (WIDTH, HEIGHT)
            assert media_facts(work / "clips" / ep / f"{shot}.mp4") == ("h264", WIDTH, HEIGHT, f"{FPS}/1", FRAMES)
        assert not [p for d in ("stills", "clips") for p in (work / d).rglob("*") if ".tmp" in p.name]
    finally:
        if watcher is not None:
            quit.set()
            watcher.join(5)
        for s in servers:
            s.stop()
