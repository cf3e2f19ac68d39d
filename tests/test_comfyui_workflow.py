"""The real workflow with backends.stills/clips: comfyui against the ComfyUI test double
(tests/comfyui_server.py) on the small test episode: the delivered episode, the order of the
graphs the server receives, incremental re-planning, and the fault cases (server down,
missing model, validation error, out of memory mid-run, restart mid-job, two servers with one
down, two servers shared by two jobs, Ctrl-C); the per-job preflight and the cluster configs."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from comfyui_server import FailRule, FakeComfyUI, RestartRule, free_port
from conftest import ROOT, copy_workflow, dump_yaml, episode_jobs, fork_project, load_yaml, planned_jobs, shot_jobs
from PIL import Image

from tower_anime.media import count_frames, probe

pytestmark = pytest.mark.workflow
EP = "test01"
SHOTS = ("s1", "s2", "s3")
FRAMES = {"s1": 49, "s2": 60, "s3": 61}
CONFIGS = ["tests/data/config.yaml", "config/comfyui.yaml", "tests/data/comfyui/config.yaml", "servers.yaml"]


def set_servers(work, *urls):
    dump_yaml({"comfyui": {"servers": list(urls)}}, work / "servers.yaml")


def snakemake(work, *args, check=True, configs=CONFIGS):
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args, "--configfile", *configs],
        cwd=work,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned(work, *targets, inputs=None):
    """{(rule, output)} a dry run would execute for the targets (default: the episode);
    `inputs`, a dict, receives each planned output's inputs."""
    proc = snakemake(work, "-n", *(targets or [f"episodes/{EP}.mkv"]))
    return planned_jobs(proc.stdout + proc.stderr, inputs)


def kind(graph):
    classes = {n["class_type"] for n in graph.values()}
    return "i2v" if "SaveVideo" in classes else "t2i" if "SaveImage" in classes else "?"


def graphs(server, start=0):
    """(kind, shot) of each graph the server accepted, in the order it received them."""
    out = []
    for rec in server.received[start:]:
        g = rec["body"].get("prompt", {})
        prefix = next(n["inputs"]["filename_prefix"] for n in g.values() if "filename_prefix" in n["inputs"])
        out.append((kind(g), prefix.rsplit("/", 1)[1].split("_")[0]))
    return out


def load_json(path):
    return json.loads(path.read_text())


def leftovers(work):
    return [p for d in ("stills", "clips") for p in (work / d).rglob("*") if ".tmp" in p.name]


@pytest.fixture
def server(tmp_path):
    srv = FakeComfyUI(tmp_path / "comfy").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def comfy_built(tmp_path_factory):
    """The episode built once through a ComfyUI server; yields (workdir, server)."""
    base = tmp_path_factory.mktemp("comfy")
    srv = FakeComfyUI(base / "server").start()
    work = copy_workflow(base / "work")
    set_servers(work, srv.url)
    proc = snakemake(work, f"episodes/{EP}.mkv", "--cores", "2", "--resources", "gpu=1")
    yield work, srv, proc
    srv.stop()


def fork(comfy_built, tmp_path, server=None):
    """A copy of the built project (outputs, mtimes, metadata), optionally on another server."""
    work = fork_project(comfy_built[0], tmp_path)
    if server is not None:
        set_servers(work, server.url)
    return work


# --- the built episode ------------------------------------------------------------------


def test_episode_builds_through_the_server(comfy_built):
    work, srv, proc = comfy_built
    info = probe(work / "episodes" / f"{EP}.mkv")
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (256, 160)
    for shot in SHOTS:
        with Image.open(work / "stills" / EP / f"{shot}.png") as img:
            assert img.size == (256, 160)
        assert count_frames(work / "clips" / EP / f"{shot}.mp4") == FRAMES[shot]  # 65 from LTX, trimmed
    assert "ComfyUI preflight OK for 6 job(s)" in proc.stderr
    assert leftovers(work) == []


def test_progress_is_in_the_job_logs(comfy_built):
    work, _, _ = comfy_built
    still_log = (work / "logs" / EP / "stills" / "s1.log").read_text()
    assert "node 5 (KSampler) step 4/4" in still_log
    assert re.search(r"queued as prompt [0-9a-f]{32}", still_log)
    clip_log = (work / "logs" / EP / "clips" / "s2.log").read_text()
    assert "node 10 (SamplerCustom) step 2/4" in clip_log
    assert "trimming 65 frames to the shot's 60" in clip_log


def test_all_stills_reach_the_server_before_any_clip(comfy_built):
    """One model on the card at a time: every text-to-image graph before any image-to-video,
    and (comfyui.free_between_models in config/comfyui.yaml) one POST /free between them."""
    _, srv, _ = comfy_built
    kinds = [k for k, _ in graphs(srv)]
    assert sorted(kinds) == ["i2v"] * 3 + ["t2i"] * 3
    assert kinds == ["t2i"] * 3 + ["i2v"] * 3, graphs(srv)
    assert srv.frees == [{"unload_models": True, "free_memory": True}]


def test_the_doubles_photographs_pass_the_shipped_comfyui_gates(comfy_built):
    """config/comfyui.yaml's gates, palette checks on (radius 50), on every still and clip."""
    work, _, _ = comfy_built
    for kind, suffix in (("stills", "json"), ("clips", "json")):
        for shot in SHOTS:
            report = load_json(work / "reports" / EP / kind / f"{shot}.{suffix}")
            assert report["pass"], [c for c in report["checks"] if not c["pass"]]
            if kind == "stills":
                assert [c["metric"] for c in report["checks"] if c["metric"].startswith("palette[")]


def test_graphs_carry_the_prompt_and_the_characters_lora(comfy_built):
    _, srv, _ = comfy_built
    by_shot = {}
    for rec in srv.received:
        g = rec["body"]["prompt"]
        by_shot[(kind(g), graphs_shot(g))] = g
        assert rec["body"]["client_id"]  # routed to our websocket
    s2 = by_shot[("t2i", "s2")]
    loras = [n["inputs"] for n in s2.values() if n["class_type"] == "LoraLoader"]
    assert loras == [
        {
            "model": ["1", 0],
            "clip": ["1", 1],
            "lora_name": "mei_working_v1.safetensors",
            "strength_model": 0.9,
            "strength_clip": 0.7,
        }
    ]
    texts = [n["inputs"]["text"] for n in s2.values() if n["class_type"] == "CLIPTextEncode"]
    assert "Luna calls from the lab." in texts[0] and "long silver hair" in texts[0]
    assert "watermark" in texts[1]
    assert not [n for n in by_shot[("t2i", "s3")].values() if n["class_type"] == "LoraLoader"]  # viktor has none
    i2v = by_shot[("i2v", "s2")]
    assert i2v["5"]["inputs"]["image"] == "tower_test01_s2.png"
    assert (
        i2v["6"]["inputs"]["length"] == 65
        and i2v["1"]["inputs"]["ckpt_name"] == "ltx-2/ltxv-2b-0.9.8-distilled.safetensors"
    )


def graphs_shot(g):
    prefix = next(n["inputs"]["filename_prefix"] for n in g.values() if "filename_prefix" in n["inputs"])
    return prefix.rsplit("/", 1)[1].split("_")[0]


# --- incremental: dry runs after edits ----------------------------------------------------

EPISODE_JOBS = episode_jobs(EP, summary=False)  # these tests build episodes/<ep>.mkv, not `all`


def test_nothing_edited_nothing_to_do_and_servers_are_not_part_of_a_shot(comfy_built, tmp_path):
    work = fork(comfy_built, tmp_path)
    dump_yaml(
        {"comfyui": {"servers": ["http://127.0.0.1:9", "http://127.0.0.1:10"], "retries": 7, "timeouts": {"job": 99}}},
        work / "servers.yaml",
    )
    assert planned(work) == set()


def test_a_characters_lora_replans_only_their_shots(comfy_built, tmp_path):
    work = fork(comfy_built, tmp_path)
    path = work / "tests" / "data" / "comfyui" / "characters.yaml"
    chars = load_yaml(path)
    chars["characters"]["luna"]["lora"]["strength_model"] = 0.6
    dump_yaml(chars, path)
    assert planned(work) == shot_jobs("s2") | EPISODE_JOBS


def test_editing_a_workflow_template_replans_the_shots_that_use_it(comfy_built, tmp_path):
    work = fork(comfy_built, tmp_path)
    t2i = work / "config" / "workflows" / "sd_lora_t2i.json.j2"
    t2i.write_text(t2i.read_text().replace('"denoise": 1.0', '"denoise": 0.95'))
    assert planned(work) == {j for s in SHOTS for j in shot_jobs(s)} | EPISODE_JOBS
    # the video template alone: clips only, no still
    work2 = fork(comfy_built, tmp_path / "b")
    i2v = work2 / "config" / "workflows" / "ltxv_i2v.json.j2"
    i2v.write_text(i2v.read_text().replace('"terminal": 0.1', '"terminal": 0.05'))
    assert planned(work2) == {j for s in SHOTS for j in shot_jobs(s, still=False)} | EPISODE_JOBS


def test_a_shots_own_workflow_replans_that_shot_and_is_its_input(comfy_built, tmp_path):
    work = fork(comfy_built, tmp_path)
    wf = work / "config" / "workflows"
    shutil.copy(wf / "sd_lora_t2i.json.j2", wf / "mine.json.j2")
    ep_path = work / "tests" / "data" / "episodes" / f"{EP}.yaml"
    doc = load_yaml(ep_path)
    doc["scenes"][1]["shots"][0]["workflow"] = {"stills": "mine.json.j2"}
    dump_yaml(doc, ep_path)
    # s1's still re-planned by an edit of its action shows its inputs beside s3's
    doc["scenes"][0]["shots"][0]["action"] = "Akira races through the rain."
    dump_yaml(doc, ep_path)
    inputs = {}
    assert planned(work, inputs=inputs) == shot_jobs("s3") | shot_jobs("s1") | EPISODE_JOBS
    # only the template a shot actually uses is its input (editing the default leaves s3 alone)
    # (beside each render's own gate verdict, which remakes a refused render)
    inputs = {out: {i for i in ins if not i.endswith(".verdict")} for out, ins in inputs.items()}
    assert inputs[f"stills/{EP}/s3.png"] == {"config/workflows/mine.json.j2"}
    assert inputs[f"stills/{EP}/s1.png"] == {"config/workflows/sd_lora_t2i.json.j2"}
    assert inputs[f"clips/{EP}/s3.mp4"] == {
        "config/workflows/ltxv_i2v.json.j2",
        f"stills/{EP}/s3.png",
        f"reports/{EP}/stills/s3.json",
    }


def test_a_prompt_template_edit_replans_the_clips_not_the_stills(comfy_built, tmp_path):
    work = fork(comfy_built, tmp_path)
    clip_j2 = work / "config" / "prompts" / "clip.j2"
    clip_j2.write_text(clip_j2.read_text().replace("smooth natural motion", "gentle motion"))
    assert planned(work) == {j for s in SHOTS for j in shot_jobs(s, still=False)} | EPISODE_JOBS


def test_a_missing_template_name_stops_before_any_job(comfy_built, tmp_path):
    work = fork(comfy_built, tmp_path)
    ep_path = work / "tests" / "data" / "episodes" / f"{EP}.yaml"
    doc = load_yaml(ep_path)
    doc["scenes"][0]["shots"][1]["workflow"] = {"clips": "nope.json.j2"}
    dump_yaml(doc, ep_path)
    proc = snakemake(work, "-n", check=False)
    assert proc.returncode != 0
    assert (
        f"tests/data/episodes/{EP}.yaml: scenes[0].shots[1].workflow.clips: no workflow template 'nope.json.j2' "
        "in config/workflows; expected one of ['ltxv_i2v.json.j2', 'ltxv_i2v_vhs.json.j2', 'sd_lora_t2i.json.j2']"
    ) in proc.stderr
    assert "Traceback" not in proc.stderr


# --- faults ---------------------------------------------------------------------------------


def test_server_down_at_start_fails_before_any_job(comfy_built, tmp_path):
    work = fork(comfy_built, tmp_path)
    dead = f"http://127.0.0.1:{free_port()}"
    set_servers(work, dead)
    (work / "stills" / EP / "s1.png").unlink()
    log = work / "logs" / EP / "stills" / "s1.log"
    log.unlink()
    proc = snakemake(work, f"stills/{EP}/s1.png", "--cores", "1", check=False)
    assert proc.returncode != 0
    assert f"cannot reach ComfyUI at {dead} (Connection refused)" in proc.stderr
    assert f"python main.py --listen 127.0.0.1 --port {dead.rsplit(':', 1)[1]}" in proc.stderr  # the URL's port
    assert "Nothing was run" in proc.stderr and "Traceback" not in proc.stderr
    assert not log.exists() and not (work / "stills" / EP / "s1.png").exists()


def test_a_missing_model_is_listed_before_any_job(comfy_built, tmp_path, server):
    work = fork(comfy_built, tmp_path, server)
    cfg = load_yaml(work / "servers.yaml")
    cfg["comfyui"]["stills"] = {"checkpoint": "anime_v3.safetensors"}
    dump_yaml(cfg, work / "servers.yaml")
    before = {s: (work / "stills" / EP / f"{s}.png").stat().st_mtime for s in SHOTS}
    proc = snakemake(work, *[f"stills/{EP}/{s}.png" for s in SHOTS], "--cores", "2", check=False)
    assert proc.returncode != 0
    assert "model file 'anime_v3.safetensors' (CheckpointLoaderSimple.ckpt_name): not on the server" in proc.stderr
    assert "ComfyUI/models/checkpoints/" in proc.stderr
    assert "needed by still test01/s1, still test01/s2, still test01/s3" in proc.stderr
    assert server.received == []
    assert before == {s: (work / "stills" / EP / f"{s}.png").stat().st_mtime for s in SHOTS}


def test_a_validation_error_fails_that_shot_only_and_leaves_no_file(comfy_built, tmp_path, server):
    work = fork(comfy_built, tmp_path, server)
    wf = work / "config" / "workflows"
    (wf / "zero_steps.json.j2").write_text(
        (wf / "sd_lora_t2i.json.j2").read_text().replace('"steps": {{ steps }}', '"steps": 0')
    )
    ep_path = work / "tests" / "data" / "episodes" / f"{EP}.yaml"
    doc = load_yaml(ep_path)
    doc["scenes"][0]["shots"][1]["workflow"] = {"stills": "zero_steps.json.j2"}
    doc["scenes"][0]["shots"][0]["action"] = "Akira races through the rain."
    dump_yaml(doc, ep_path)
    # the preflight refuses steps 0 before any job (the server's minimum is 1) ...
    proc = snakemake(work, f"stills/{EP}/s1.png", f"stills/{EP}/s2.png", "--cores", "1", check=False)
    assert "node 5: KSampler.steps = 0: below the server's minimum 1" in proc.stderr and server.received == []
    # ... and without it, the server's own validation error fails that shot only
    cfg = load_yaml(work / "servers.yaml")
    cfg["comfyui"]["preflight"] = "off"
    dump_yaml(cfg, work / "servers.yaml")
    proc = snakemake(work, f"stills/{EP}/s1.png", f"stills/{EP}/s2.png", "--cores", "1", "--keep-going", check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert (
        "rejected the graph from workflow template config/workflows/zero_steps.json.j2: prompt_outputs_failed_validation"
        in err
    )
    assert "node 5 (KSampler) input 'steps': Value 0 smaller than min of 1" in err
    assert "received 0; allowed: a INT with min 1 and max 10000" in err
    assert not (work / "stills" / EP / "s2.png").exists()
    with Image.open(work / "stills" / EP / "s1.png") as img:  # the other shot went on
        assert img.size == (256, 160)
    assert leftovers(work) == []


def test_out_of_memory_mid_run_other_shots_go_on_and_the_next_run_resumes(comfy_built, tmp_path, server):
    work = fork(comfy_built, tmp_path, server)
    for s in SHOTS:
        (work / "clips" / EP / f"{s}.mp4").unlink()
    server.fail_when.append(
        FailRule(match=lambda g: kind(g) == "i2v" and graphs_shot(g) == "s2", node_class="SamplerCustom")
    )
    targets = [f"clips/{EP}/{s}.mp4" for s in SHOTS]
    proc = snakemake(work, *targets, "--cores", "1", "--keep-going", check=False)
    assert proc.returncode != 0
    assert "out of GPU memory rendering clip test01/s2 on" in proc.stderr
    assert "node 10 (SamplerCustom) raised torch.OutOfMemoryError" in proc.stderr
    assert "--lowvram" in proc.stderr
    assert sorted(p.name for p in (work / "clips" / EP).glob("*.mp4")) == ["s1.mp4", "s3.mp4"]
    assert leftovers(work) == []
    seen = len(server.received)
    snakemake(work, *targets, "--cores", "1")
    assert graphs(server, seen) == [("i2v", "s2")]
    assert count_frames(work / "clips" / EP / "s2.mp4") == 60


def test_a_server_restart_mid_job_is_retried(comfy_built, tmp_path, server):
    work = fork(comfy_built, tmp_path, server)
    (work / "clips" / EP / "s1.mp4").unlink()
    server.restart_when.append(RestartRule(match=lambda g: kind(g) == "i2v", at_step=2))
    snakemake(work, f"clips/{EP}/s1.mp4", "--cores", "1")
    assert server.restarts == 1
    assert graphs(server) == [("i2v", "s1"), ("i2v", "s1")]  # lost with the restart, submitted again
    log = (work / "logs" / EP / "clips" / "s1.log").read_text()
    # the render goes to a take file first; the gate promotes it (qc.takes)
    assert "waiting for the server to come back" in log and "done: " in log and "to clips/test01/s1.mp4" in log
    assert count_frames(work / "clips" / EP / "s1.mp4") == 49


def test_two_servers_one_down_skips_it_with_a_warning(comfy_built, tmp_path, server):
    work = fork(comfy_built, tmp_path)
    dead = f"http://127.0.0.1:{free_port()}"
    set_servers(work, dead, server.url)
    for s in ("s1", "s3"):
        (work / "stills" / EP / f"{s}.png").unlink()
    proc = snakemake(work, f"stills/{EP}/s1.png", f"stills/{EP}/s3.png", "--cores", "2", "--resources", "gpu=2")
    assert f"WARNING: comfyui: server {dead} is down (Connection refused); jobs will skip it" in proc.stderr
    assert sorted(s for _, s in graphs(server)) == ["s1", "s3"]
    for s in ("s1", "s3"):
        log = (work / "logs" / EP / "stills" / f"{s}.log").read_text()
        assert f"using {server.url}" in log


def test_two_servers_two_jobs_never_share_a_server(comfy_built, tmp_path):
    # 2 s a still on the card: long enough that both jobs are on their servers at once
    a = FakeComfyUI(tmp_path / "a", step_seconds=0.5).start()
    b = FakeComfyUI(tmp_path / "b", step_seconds=0.5).start()
    try:
        work = fork(comfy_built, tmp_path)
        set_servers(work, a.url, b.url)
        for s in SHOTS:
            (work / "stills" / EP / f"{s}.png").unlink()
        snakemake(work, *[f"stills/{EP}/{s}.png" for s in SHOTS], "--cores", "2", "--resources", "gpu=2")
        assert len(a.received) + len(b.received) == 3
        assert a.received and b.received  # the jobs spread over both
        assert a.max_outstanding == b.max_outstanding == 1  # never two prompts on one card
    finally:
        a.stop()
        b.stop()


def test_ctrl_c_interrupts_the_prompt_on_the_server(comfy_built, tmp_path):
    slow = FakeComfyUI(tmp_path / "slow", step_seconds=2.0).start()
    try:
        work = fork(comfy_built, tmp_path, slow)
        (work / "clips" / EP / "s1.mp4").unlink()
        proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", f"clips/{EP}/s1.mp4", "--cores", "1", "--configfile", *CONFIGS],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while slow.running is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert slow.running is not None, "the clip never reached the server"
        prompt_id = slow.running[1]
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.communicate(timeout=60)
        assert prompt_id in slow.interrupts
        deadline = time.monotonic() + 10
        while prompt_id not in slow.history and time.monotonic() < deadline:
            time.sleep(0.1)
        messages = [m[0] for m in slow.history[prompt_id]["status"]["messages"]]
        assert "execution_interrupted" in messages and slow.running is None  # the card is free
        log = (work / "logs" / EP / "clips" / "s1.log").read_text()
        assert f"interrupt requested for prompt {prompt_id}" in log
        assert (
            f"stopped by SIGINT; interrupted prompt {prompt_id} on {slow.url}: it has stopped, so the card is free"
            in log
        )
        assert not (work / "clips" / EP / "s1.mp4").exists() and leftovers(work) == []
    finally:
        slow.stop()


# --- on a cluster (README, "Run on a cluster") --------------------------------------------------


def test_per_job_preflight_fails_the_job_with_the_list_and_renders_nothing(comfy_built, tmp_path, server):
    """comfyui.preflight: per-job (one ComfyUI per cluster node on localhost, which the submitting
    host cannot reach): the hook checks no server; each job checks the server it leased before
    it uploads or submits anything, and a missing model fails that job with the same list."""
    work = fork(comfy_built, tmp_path, server)
    cfg = load_yaml(work / "servers.yaml")
    cfg["comfyui"].update(preflight="per-job", clips={"checkpoint": "ltx-2/ltxv-13b-0.9.8-dev.safetensors"})
    dump_yaml(cfg, work / "servers.yaml")
    (work / "stills" / EP / "s1.png").unlink()
    (work / "clips" / EP / "s2.mp4").unlink()
    proc = snakemake(work, f"stills/{EP}/s1.png", f"clips/{EP}/s2.mp4", "--cores", "1", "--keep-going", check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert "ComfyUI preflight OK" not in err
    assert "Tower: ComfyUI preflight: per-job; each of the 2 job(s) checks its own server before it renders" in err
    # the default lock folder is inside the (on a cluster: shared) project folder
    assert "WARNING: comfyui: comfyui.lock_dir is '.tower/comfyui-locks', inside the project folder" in err
    missing = (
        f"ComfyUI preflight: 1 thing(s) missing; nothing was run:\n  - {server.url}: model file "
        "'ltx-2/ltxv-13b-0.9.8-dev.safetensors' (CheckpointLoaderSimple.ckpt_name): not on the server; "
        "put it in ComfyUI/models/checkpoints/"
    )
    assert missing in err and "(needed by clip test01/s2)" in err and "Traceback" not in err
    assert missing in (work / "logs" / EP / "clips" / "s2.log").read_text()
    assert graphs(server) == [("t2i", "s1")]  # the still rendered; the clip submitted nothing
    assert server.uploads == []  # and did not even upload its still
    assert not (work / "clips" / EP / "s2.mp4").exists() and leftovers(work) == []
    assert f"preflight OK on {server.url}" in (work / "logs" / EP / "stills" / "s1.log").read_text()
    with Image.open(work / "stills" / EP / "s1.png") as img:
        assert img.size == (256, 160)


def local_rules(*configfiles):
    """The rules Snakemake would run on the submitting host under a cluster executor."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        wf = api.workflow(
            snakefile=ROOT / "Snakefile",
            workdir=ROOT,
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[ROOT / f for f in configfiles]),
        )
        # the parsed workflow's local rules (Workflow.is_local reads the same set; it answers
        # True for every rule here because no cluster executor is configured)
        return set(wf._workflow._localrules)


def test_cluster_configs_place_the_gpu_jobs():
    """One ComfyUI per node: still/clip are cluster jobs (they get a SLURM GPU); a pool: they are
    client jobs on the submitting host and ask the cluster for no GPU."""
    base = ("tests/data/config.yaml", "config/comfyui.yaml")
    per_node = local_rules(*base, "config/cluster-comfyui-local.yaml")
    pool = local_rules(*base, "config/cluster-comfyui-pool.yaml")
    assert "still" not in per_node and "clip" not in per_node and "qc_clip" in per_node
    assert {"still", "clip", "qc_clip"} <= pool
    assert {"still", "clip"}.isdisjoint(local_rules("tests/data/config.yaml", "config/cluster-comfyui-pool.yaml"))
