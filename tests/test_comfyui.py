"""The ComfyUI backend without Snakemake: templates and their checks, the translation of the
server's errors, prompts and per-shot specs, and the client against the test double
(caching truth, uploads, /view, video under `gifs`, retries, timeouts, server leases,
preflight)."""

import copy
import json
import shutil
import sys
import threading

import pytest
import requests
from comfyui_server import FakeComfyUI, RestartRule, free_port
from conftest import ROOT
from PIL import Image

from tower_anime.comfyui import errors as E
from tower_anime.comfyui.graph import render_template, save_node, validate_graph
from tower_anime.comfyui.preflight import preflight, schedule_advice
from tower_anime.comfyui.render import ComfyJob
from tower_anime.comfyui.servers import lease
from tower_anime.comfyui.spec import model_length, template_variables
from tower_anime.config import load_config
from tower_anime.errors import InvalidInput
from tower_anime.media import count_frames
from tower_anime.prompts import build_prompts
from tower_anime.story import dumps, load_story, plan_story

WORKFLOWS = ROOT / "config" / "workflows"
T2I, I2V, VHS = (WORKFLOWS / name for name in ("sd_lora_t2i.json.j2", "ltxv_i2v.json.j2", "ltxv_i2v_vhs.json.j2"))
COMFY = {
    "backends": {"stills": "comfyui", "clips": "comfyui"},
    "output": {"width": 256, "height": 160},
    "comfyui": {"stills": {"steps": 3}, "clips": {"steps": 3}},
}


def comfy_config(**comfyui):
    over = copy.deepcopy(COMFY)
    over["comfyui"].update(comfyui)
    over["story"] = {
        "characters": str(ROOT / "tests/data/comfyui/characters.yaml"),
        "episodes_dir": str(ROOT / "tests/data/episodes"),
        "episodes": ["test01"],
    }
    over["prompts"] = {"dir": str(ROOT / "config/prompts")}
    over["comfyui"].setdefault("workflows_dir", str(WORKFLOWS))
    return load_config(ROOT / "tests" / "data" / "config.yaml", over)


def still_vars(**over):
    v = dict(
        prompt="a",
        negative_prompt="b",
        seed=1,
        width=256,
        height=160,
        checkpoint="c.safetensors",
        steps=3,
        cfg=7.0,
        sampler="euler",
        scheduler="normal",
        loras=[],
        filename_prefix="tower/t/s1_still",
    )
    v.update(over)
    return v


# --- templates ------------------------------------------------------------------------------


def test_placeholders_write_json_values_so_prompts_cannot_break_the_graph():
    text = 'She says "run!"\n\\ then {braces} and </script>'
    g = render_template(
        T2I,
        still_vars(
            prompt=text,
            loras=[
                {"name": "a.safetensors", "strength_model": 0.8, "strength_clip": 0.5},
                {"name": "b.safetensors", "strength_model": 1.0, "strength_clip": 1.0},
            ],
        ),
    )
    assert g["2"]["inputs"]["text"] == text
    # the LoRAs are chained: checkpoint -> 10 -> 11 -> text encoders and sampler
    assert g["10"]["inputs"]["model"] == ["1", 0] and g["11"]["inputs"]["clip"] == ["10", 1]
    assert g["2"]["inputs"]["clip"] == ["11", 1] and g["5"]["inputs"]["model"] == ["11", 0]
    assert save_node(g, "tower/t/s1_still") == "7"
    no_lora = render_template(T2I, still_vars())
    assert no_lora["5"]["inputs"]["model"] == ["1", 0] and "10" not in no_lora


def test_an_unfilled_placeholder_names_the_variable_and_the_file():
    v = still_vars()
    del v["seed"]
    with pytest.raises(
        E.TemplateError, match=r"sd_lora_t2i.json.j2: 'seed' is undefined; variables this shot provides: \["
    ):
        render_template(T2I, v)


def test_a_quoted_placeholder_is_explained(tmp_path):
    t = tmp_path / "mine.json.j2"
    t.write_text('{"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "{{ filename_prefix }}"}}}')
    with pytest.raises(E.TemplateError, match=r"not JSON .*without quotes around them"):
        render_template(t, still_vars())


@pytest.mark.parametrize(
    "graph, message",
    [
        (
            {"1": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["1", 2]}}},
            "node 1 (VAEDecode) input 'samples': links to node '9', which is not in the graph",
        ),
        (
            {
                "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x"}},
                "2": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0], "vae": ["1", 3]}},
            },
            "links to output 3 of node 1 (CheckpointLoaderSimple), which has 3 output(s)",
        ),
        ({"1": {"class_type": "KSampler", "inputs": {"seed": None}}}, "input 'seed': is null"),
        (
            {"1": {"class_type": "KSampler", "inputs": {"model": ["2"]}}, "2": {"class_type": "X", "inputs": {}}},
            "a link must be",
        ),
        ({"1": {"inputs": {}}}, "node 1: no class_type"),
        (
            {"1": {"class_type": "A", "inputs": {"x": ["2", 0]}}, "2": {"class_type": "B", "inputs": {"y": ["1", 0]}}},
            "the links form a cycle",
        ),
        ({"nodes": [], "links": []}, "the UI's saved workflow format"),
    ],
)
def test_graph_checks(graph, message):
    with pytest.raises(E.TemplateError) as e:
        validate_graph(graph, "t.json.j2")
    assert message in str(e.value)


def test_the_shipped_video_template_is_wired_as_the_protocol_says():
    c = comfy_config()
    story = load_story(c["story"]["characters"], c["story"]["episodes_dir"])
    spec = plan_story(story, c)["test01"].clips["s2"]
    g = render_template(I2V, template_variables("clip", spec, "tower/test01/s2_clip", image="up.png"))
    by_class = {n["class_type"]: (i, n["inputs"]) for i, n in g.items()}
    assert by_class["CLIPLoader"][1] == {"clip_name": "t5xxl_fp16.safetensors", "type": "ltxv"}
    assert by_class["LTXVImgToVideo"][1]["length"] == 65 and by_class["LTXVImgToVideo"][1]["width"] == 256
    assert by_class["LoadImage"][1]["image"] == "up.png"
    assert by_class["SaveVideo"][1] == {
        "video": [by_class["CreateVideo"][0], 0],
        "filename_prefix": "tower/test01/s2_clip",
        "format": "mp4",
        "codec": "h264",
    }


def test_model_length_is_the_next_8k_plus_1():
    # LTX renders 8k+1 frames and at least 9: a shorter shot is padded to 9 and trimmed back
    assert [model_length(f, 8) for f in (1, 8, 9, 49, 60, 61, 121, 122)] == [9, 9, 9, 49, 65, 65, 121, 129]
    assert model_length(60, 1) == 60 and model_length(1, 1) == 1


# --- errors a user can act on ------------------------------------------------------------------

NODE_ERRORS = {
    "error": {
        "type": "prompt_outputs_failed_validation",
        "message": "Prompt outputs failed validation",
        "details": "",
        "extra_info": {},
    },
    "node_errors": {
        "1": {
            "errors": [
                {
                    "type": "value_not_in_list",
                    "message": "Value not in list",
                    "details": "ckpt_name: 'x.safetensors' not in ['a.safetensors']",
                    "extra_info": {
                        "input_name": "ckpt_name",
                        "input_config": [["a.safetensors"], {}],
                        "received_value": "x.safetensors",
                    },
                }
            ],
            "dependent_outputs": ["7"],
            "class_type": "CheckpointLoaderSimple",
        },
        "5": {
            "errors": [
                {
                    "type": "required_input_missing",
                    "message": "Required input is missing",
                    "details": "seed",
                    "extra_info": {"input_name": "seed"},
                },
                {
                    "type": "value_smaller_than_min",
                    "message": "Value 0 smaller than min of 1",
                    "details": "steps",
                    "extra_info": {
                        "input_name": "steps",
                        "input_config": ["INT", {"default": 20, "min": 1, "max": 10000}],
                        "received_value": 0,
                    },
                },
            ],
            "dependent_outputs": ["7"],
            "class_type": "KSampler",
        },
    },
}


def test_validation_errors_are_translated_per_node_and_input():
    text = str(E.prompt_rejected(NODE_ERRORS, "http://127.0.0.1:8188", "config/workflows/x.json.j2"))
    assert text.startswith(
        "ComfyUI at http://127.0.0.1:8188 rejected the graph from workflow template "
        "config/workflows/x.json.j2: prompt_outputs_failed_validation: Prompt outputs failed validation"
    )
    assert (
        "node 1 (CheckpointLoaderSimple) input 'ckpt_name': Value not in list [ckpt_name: 'x.safetensors' not in "
        "['a.safetensors']]; received 'x.safetensors'; allowed: one of ['a.safetensors'] (the model file is missing "
        "on the server: put it in ComfyUI/models/checkpoints/"
    ) in text
    assert (
        "node 5 (KSampler) input 'seed': Required input is missing [seed] (the workflow template does not set it)"
        in text
    )
    assert (
        "node 5 (KSampler) input 'steps': Value 0 smaller than min of 1 [steps]; received 0; allowed: a INT with min 1 and max 10000"
        in text
    )
    unknown = {
        "error": {
            "type": "invalid_prompt",
            "message": "Cannot execute because node FooNode does not exist.",
            "details": "Node ID '#3'",
            "extra_info": {},
        },
        "node_errors": {},
    }
    assert "install the custom node" in str(E.prompt_rejected(unknown, "u"))


def test_execution_errors_name_the_node_and_out_of_memory_gets_a_hint():
    oom = {
        "prompt_id": "p",
        "node_id": "10",
        "node_type": "SamplerCustom",
        "exception_type": "torch.OutOfMemoryError",
        "exception_message": "Allocation on device 0 would exceed allowed memory. (out of memory)\nCurrently allocated: 11 GiB",
    }
    err = E.execution_failed(oom, "http://h:1", "clip ep01/s1")
    assert isinstance(err, E.OutOfMemory)
    assert str(err).startswith(
        "out of GPU memory rendering clip ep01/s1 on http://h:1: node 10 (SamplerCustom) raised "
        "torch.OutOfMemoryError: Allocation on device 0 would exceed allowed memory. (out of memory)\n  hint:"
    )
    other = E.execution_failed(
        {**oom, "exception_type": "RuntimeError", "exception_message": "avcodec_open2(libx264): odd size"},
        "http://h:1",
        "clip ep01/s1",
    )
    assert type(other) is E.ExecutionFailed and "raised RuntimeError: avcodec_open2(libx264): odd size" in str(other)


# --- prompts and per-shot specs ----------------------------------------------------------------


def test_prompts_come_from_the_shot_its_characters_and_the_style():
    c = comfy_config()
    spec = plan_story(load_story(c["story"]["characters"], c["story"]["episodes_dir"]), c)["test01"].stills["s3"]
    p = build_prompts("still", spec, {**c["style"], "look": "watercolour"}, c["prompts"]["dir"])
    assert p["positive"].startswith("watercolour, close-up, 35mm lens, Viktor Kozlov: Corporate antagonist")
    assert "Viktor smiles." in p["positive"] and "corporate tower office, at dusk" in p["positive"]
    assert spec["prompt"]["negative"] == p["negative"] == c["style"]["negative"]


def test_knowledge_base_facts_in_a_spec_reach_the_prompt():
    c = comfy_config()
    spec = copy.deepcopy(_plan(c).stills["s1"])
    spec["characters"][0]["facts"] = [{"predicate": "rides", "object": "a matte black superbike"}]
    spec["style"] = [{"predicate": "look", "object": "90s OVA cel look"}]
    p = build_prompts("still", spec, c["style"], c["prompts"]["dir"])["positive"]
    assert p.startswith("90s OVA cel look, medium shot, 35mm lens, Akira Yamamoto:")
    assert "determined eyes, rides a matte black superbike, Akira races" in p


def test_a_broken_prompt_template_names_the_file_and_line(tmp_path):
    shutil.copytree(ROOT / "config" / "prompts", tmp_path / "prompts")
    (tmp_path / "prompts" / "still.j2").write_text("{{ action }}\n{{ shot_mood }}\n")
    c = comfy_config()
    spec = plan_story(load_story(c["story"]["characters"], c["story"]["episodes_dir"]), c)["test01"].stills["s1"]
    with pytest.raises(InvalidInput) as e:
        build_prompts("still", spec, c["style"], tmp_path / "prompts")
    assert f"{tmp_path}/prompts/still.j2: line 2: 'shot_mood' is undefined" in str(e.value)


def _plan(c, edit=None):
    story = load_story(c["story"]["characters"], c["story"]["episodes_dir"])
    if edit:
        edit(story)
    return plan_story(story, c)["test01"]


def test_workflow_precedence_shot_over_character_over_episode_over_config(tmp_path):
    wf = tmp_path / "wf"
    shutil.copytree(WORKFLOWS, wf)
    for name in ("ep.json.j2", "char.json.j2", "shot.json.j2"):
        shutil.copy(wf / "sd_lora_t2i.json.j2", wf / name)
    c = comfy_config(workflows_dir=str(wf))

    def edit(story):
        doc = story.episodes["test01"]
        doc["workflow"] = {"stills": "ep.json.j2"}
        story.characters["luna"]["workflow"] = {"stills": "char.json.j2"}
        story.characters["viktor"]["workflow"] = {"stills": "char.json.j2"}
        doc["scenes"][1]["shots"][0]["workflow"] = {"stills": "shot.json.j2"}

    plan = _plan(c, edit)
    assert {s: plan.stills[s]["comfyui"]["workflow"] for s in ("s1", "s2", "s3")} == {
        "s1": "ep.json.j2",
        "s2": "char.json.j2",
        "s3": "shot.json.j2",
    }
    assert {plan.clips[s]["comfyui"]["workflow"] for s in ("s1", "s2", "s3")} == {"ltxv_i2v.json.j2"}


def test_a_lora_edit_changes_only_that_characters_specs():
    c = comfy_config()
    before = _plan(c)

    def edit(story):
        story.characters["akira"]["lora"]["file"] = "akira_v3.safetensors"

    after = _plan(c, edit)
    changed = sorted(
        f"{kind}:{s}"
        for kind in ("stills", "clips")
        for s in ("s1", "s2", "s3")
        if dumps(getattr(before, kind)[s]) != dumps(getattr(after, kind)[s])
    )
    assert changed == ["clips:s1", "stills:s1"]
    assert after.stills["s1"]["comfyui"]["loras"] == [
        {"name": "akira_v3.safetensors", "strength_model": 0.8, "strength_clip": 0.8}
    ]


def test_embedded_backends_keep_their_specs():
    c = load_config(ROOT / "tests" / "data" / "config.yaml")
    plan = _plan(c)
    assert "prompt" not in plan.stills["s1"] and "comfyui" not in plan.clips["s1"]


# --- the client against the test double -----------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    srv = FakeComfyUI(tmp_path / "comfy").start()
    yield srv
    srv.stop()


def job(stage, shot, c, log, template=None):
    plan = _plan(c)
    spec = plan.stills[shot] if stage == "still" else plan.clips[shot]
    return ComfyJob(stage, spec, template or (T2I if stage == "still" else I2V), c["comfyui"], log)


def settings_for(tmp_path, *urls, **more):
    more.setdefault("timeouts", {"connect": 2, "request": 10, "job": 30, "lease": 5})
    return comfy_config(servers=list(urls), lock_dir=str(tmp_path / "locks"), backoff=0.05, **more)


def test_caching_truth_the_right_file_from_history_never_the_newest(server, tmp_path):
    c = settings_for(tmp_path, server.url)
    job("still", "s1", c, sys.stderr).run(tmp_path / "a.png")
    # a decoy: a newer file with a higher counter in the very folder ComfyUI writes to
    out = server.root / "output" / "tower" / "test01"
    Image.new("RGB", (256, 160), "red").save(out / "s1_still_00099_.png")
    job("still", "s1", c, sys.stderr).run(tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes() == (tmp_path / "a.png").read_bytes()
    cached = [d["nodes"] for kind, d, _ in server.events if kind == "execution_cached"]
    assert cached[0] == [] and sorted(cached[1]) == sorted(server.received[1]["body"]["prompt"])  # it ran nothing
    assert len(list(out.glob("s1_still_*.png"))) == 2  # no new file was written
    # another seed is a new render: a new file, and it is the one returned
    c2 = copy.deepcopy(c)
    j = job("still", "s1", c2, sys.stderr)
    j.spec = {**j.spec, "seed": 999}
    j.run(tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes() != (tmp_path / "a.png").read_bytes()
    with Image.open(tmp_path / "c.png") as img:
        assert json.loads(img.text["prompt"])["5"]["inputs"]["seed"] == 999


def test_a_cached_result_whose_file_was_deleted_is_made_again(server, tmp_path):
    c = settings_for(tmp_path, server.url)
    job("still", "s2", c, sys.stderr).run(tmp_path / "a.png")
    for f in (server.root / "output" / "tower" / "test01").glob("s2_still_*.png"):
        f.unlink()
    job("still", "s2", c, sys.stderr).run(tmp_path / "b.png")
    with Image.open(tmp_path / "b.png") as img:
        assert img.size == (256, 160)
    prefixes = [
        next(n["inputs"]["filename_prefix"] for n in r["body"]["prompt"].values() if n["class_type"] == "SaveImage")
        for r in server.received
    ]
    assert prefixes[:2] == ["tower/test01/s2_still"] * 2 and prefixes[2].startswith("tower/test01/s2_still_")


def test_upload_and_view_semantics(server, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (8, 8), "red").save(a)
    Image.new("RGB", (8, 8), "blue").save(b)

    def up(path, name="still.png", **data):
        with open(path, "rb") as f:
            return requests.post(server.url + "/upload/image", files={"image": (name, f, "image/png")}, data=data)

    assert up(a).json() == {"name": "still.png", "subfolder": "", "type": "input"}
    assert up(a).json()["name"] == "still.png"  # same content, same name
    assert up(b).json()["name"] == "still (1).png"  # other content, same name
    assert up(b, overwrite="true").json()["name"] == "still.png"
    empty = requests.post(server.url + "/upload/image", data={"type": "input"})
    assert (empty.status_code, empty.content) == (400, b"")
    view = lambda **q: requests.get(server.url + "/view", params=q)
    assert view(filename="still.png", type="input").content == b.read_bytes()
    assert view(filename="nope.png", type="input").status_code == 404
    assert view(filename="still.png", subfolder="../..", type="input").status_code == 403


def test_the_vhs_template_saves_under_gifs_and_is_fetched(server, tmp_path):
    c = settings_for(tmp_path, server.url)
    still = tmp_path / "s1.png"
    job("still", "s1", c, sys.stderr).run(still)
    job("clip", "s1", c, sys.stderr, template=VHS).run(tmp_path / "s1.mp4", still_path=still)
    assert count_frames(tmp_path / "s1.mp4") == 49
    entry = server.history[server.received[-1]["body"]["prompt_id"]]
    assert "gifs" in entry["outputs"]["12"] and "images" not in entry["outputs"]["12"]


def test_5xx_is_retried_with_backoff_and_a_bad_size_fails_at_once(server, tmp_path):
    c = settings_for(tmp_path, server.url)
    server.http_faults["/prompt"] = [503]
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        job("still", "s1", c, f).run(tmp_path / "a.png")
    assert "answered 503" in log.read_text() and "retry 1/3" in log.read_text()
    # a template that ignores the asked size: the output check refuses it, no retry, no file
    wrong = tmp_path / "wrong.json.j2"
    wrong.write_text(T2I.read_text().replace('"width": {{ width }}', '"width": 320'))
    seen = len(server.received)
    with pytest.raises(E.BadOutput, match=r"sent a 320x160 image; expected 256x160"):
        job("still", "s3", c, sys.stderr, template=wrong).run(tmp_path / "w.png")
    assert len(server.received) == seen + 1 and not (tmp_path / "w.png").exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_a_graph_the_server_rejects_is_not_retried(server, tmp_path):
    """A validation error (HTTP 400 from /prompt) is the template's fault: the same graph would
    be rejected again, so it fails at once, with the node and input named, and is sent once."""
    c = settings_for(tmp_path, server.url)
    bad = tmp_path / "bad.json.j2"
    bad.write_text(T2I.read_text().replace('"steps": {{ steps }},', '"steps": 0,'))
    log = tmp_path / "log.txt"
    with open(log, "w") as f, pytest.raises(E.PromptRejected, match=r"input 'steps': .*received 0") as e:
        job("still", "s1", c, f, template=bad).run(tmp_path / "a.png")
    assert not isinstance(e.value, E.Transient)
    assert len([r for r in server.received if "prompt" in r["body"]]) == 1
    assert "retry" not in log.read_text() and not (tmp_path / "a.png").exists()


def test_a_job_timeout_interrupts_the_prompt_and_says_when_it_has_stopped(tmp_path):
    slow = FakeComfyUI(tmp_path / "slow", step_seconds=1.5).start()
    try:
        c = settings_for(
            tmp_path, slow.url, timeouts={"connect": 2, "request": 10, "job": 1.0, "lease": 5, "interrupt": 10}
        )
        log = tmp_path / "log.txt"
        with open(log, "w") as f, pytest.raises(E.JobTimeout, match="did not finish in time"):
            job("still", "s1", c, f).run(tmp_path / "a.png")
        pid = slow.received[0]["body"]["prompt_id"]
        assert slow.interrupts == [pid]
        text = log.read_text()
        # the interrupt takes effect at the next sampler step: first asked, then seen to end
        requested = text.index(f"interrupt requested for prompt {pid} on {slow.url}")
        assert text.index(f"interrupted prompt {pid} on {slow.url}: it has stopped, so the card is free") > requested
    finally:
        slow.stop()


def test_an_interrupt_that_has_not_taken_effect_is_not_called_done(tmp_path):
    """The real server ran on for 15 s in the T5 text encoder after an interrupt (no sampler
    step to stop at); the log must not claim the card is free."""
    srv = FakeComfyUI(tmp_path / "srv").start()
    srv.slow_nodes["CLIPTextEncode"] = 2.0
    try:
        c = settings_for(
            tmp_path, srv.url, timeouts={"connect": 2, "request": 10, "job": 0.5, "lease": 5, "interrupt": 0.5}
        )
        log = tmp_path / "log.txt"
        with open(log, "w") as f, pytest.raises(E.JobTimeout):
            job("still", "s1", c, f).run(tmp_path / "a.png")
        text = log.read_text()
        assert "interrupt requested for prompt" in text and "still ran 0.5 s later" in text
        assert "the card is free" not in text
    finally:
        srv.stop()


def test_an_old_server_gets_its_own_prompt_id_followed_and_no_interrupt(tmp_path):
    """Before 0.3.44 ComfyUI ignores a client's prompt_id; before 0.3.56 /interrupt stops
    whatever runs, another client's prompt included."""
    old = FakeComfyUI(tmp_path / "old", version="0.3.40").start()
    try:
        c = settings_for(tmp_path, old.url)
        log = tmp_path / "log.txt"
        with open(log, "w") as f:
            job("still", "s1", c, f).run(tmp_path / "a.png")
        sent, kept = old.received[0]["body"]["prompt_id"], next(iter(old.history))
        assert sent != kept and f"queued as prompt {kept} (#0); the server chose the id" in log.read_text()
        old.step_seconds = 1.5
        c = settings_for(
            tmp_path, old.url, timeouts={"connect": 2, "request": 10, "job": 0.5, "lease": 5, "interrupt": 5}
        )
        with open(log, "w") as f, pytest.raises(E.JobTimeout):
            job("still", "s2", c, f).run(tmp_path / "b.png")
        assert old.interrupts == []
        assert "not interrupted: ComfyUI 0.3.40 stops whatever runs on /interrupt" in log.read_text()
    finally:
        old.stop()


def test_the_queue_position_is_logged_while_another_clients_prompt_runs(tmp_path):
    srv = FakeComfyUI(tmp_path / "srv", step_seconds=0.2).start()
    try:
        c = settings_for(tmp_path, srv.url)
        theirs = render_template(T2I, still_vars(steps=15, checkpoint="v1-5-pruned-emaonly.safetensors"))
        assert requests.post(srv.url + "/prompt", json={"prompt": theirs, "client_id": "the-ui"}).status_code == 200
        log = tmp_path / "log.txt"
        with open(log, "w") as f:
            job("still", "s1", c, f).run(tmp_path / "a.png")
        text = log.read_text()
        assert f"waiting: 1 prompt(s) ahead on {srv.url}" in text
        assert text.index("waiting: 1 prompt(s) ahead") < text.index("started on")
    finally:
        srv.stop()


def test_a_restart_longer_than_the_retries_is_waited_for_within_the_budget(tmp_path):
    """A real restart took 8-10 s; the retries alone (0 here) would have given up at once."""
    srv = FakeComfyUI(tmp_path / "srv").start()
    srv.restart_when.append(RestartRule(match=lambda g: True, at_step=2, down_for=2.0))
    try:
        c = settings_for(tmp_path, srv.url, retries=0, restart_budget_s=30)
        log = tmp_path / "log.txt"
        with open(log, "w") as f:
            job("still", "s1", c, f).run(tmp_path / "a.png")
        text = log.read_text()
        assert srv.restarts == 1 and "waiting for the server to come back" in text
        assert "of comfyui.restart_budget_s = 30 s used" in text and "done: " in text
    finally:
        srv.stop()


def test_unreachable_gives_up_after_the_budget_naming_the_url_and_its_port(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    c = settings_for(tmp_path, url, restart_budget_s=0.5)
    with pytest.raises(E.ComfyUIError) as e:
        job("still", "s1", c, sys.stderr).run(tmp_path / "a.png")
    text = str(e.value)
    assert "\n" not in text
    assert (
        "gave up after 1 s (comfyui.restart_budget_s) waiting for ComfyUI at " in text
        or "gave up after 0 s (comfyui.restart_budget_s)" in text
    )
    assert f"cannot reach ComfyUI at {url} (Connection refused)" in text
    assert f"python main.py --listen 127.0.0.1 --port {port}" in text and "8188" not in text
    assert E.start_hint("http://gpu-box:8190").endswith(
        "`python main.py --listen 0.0.0.0 --port 8190` on gpu-box) or set comfyui.servers in your config to where it runs"
    )


def test_the_card_is_freed_when_the_model_changes(server, tmp_path):
    c = settings_for(tmp_path, server.url, free_between_models=True)
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        job("still", "s1", c, f).run(tmp_path / "s1.png")
        job("still", "s2", c, f).run(tmp_path / "s2.png")
        assert server.frees == []  # the same image model: nothing to free
        job("clip", "s1", c, f).run(tmp_path / "s1.mp4", still_path=tmp_path / "s1.png")
        assert server.frees == [{"unload_models": True, "free_memory": True}]
        job("still", "s3", c, f).run(tmp_path / "s3.png")
    assert len(server.frees) == 2
    assert (
        "freed the card on " + server.url + " (POST /free): the model changes from v1-5-pruned-emaonly.safetensors "
        "to ltx-2/ltxv-2b-0.9.8-distilled.safetensors + t5xxl_fp16.safetensors"
    ) in log.read_text()
    off = settings_for(tmp_path, server.url)  # comfyui.free_between_models: false
    job("clip", "s2", off, sys.stderr).run(tmp_path / "s2.mp4", still_path=tmp_path / "s2.png")
    assert len(server.frees) == 2


def test_a_one_frame_shot_asks_ltx_for_9_frames_and_keeps_1(server, tmp_path):
    c = settings_for(tmp_path, server.url)
    still = tmp_path / "s1.png"
    job("still", "s1", c, sys.stderr).run(still)
    j = job("clip", "s1", c, sys.stderr)
    j.spec = {**j.spec, "frames": 1, "comfyui": {**j.spec["comfyui"], "length": model_length(1, 8)}}
    j.run(tmp_path / "s1.mp4", still_path=still)
    assert server.received[-1]["body"]["prompt"]["6"]["inputs"]["length"] == 9
    assert count_frames(tmp_path / "s1.mp4") == 1


def test_a_leased_server_is_not_given_to_another_holder(tmp_path):
    lock_dir = tmp_path / "locks"
    health = lambda url: {"system": {}}
    held, release = threading.Event(), threading.Event()

    def holder():
        with lease(["http://a:1"], lock_dir, health, sys.stderr):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(10)
    try:
        with lease(["http://a:1", "http://b:2"], lock_dir, health, sys.stderr) as (url, _):
            assert url == "http://b:2"
        with pytest.raises(E.JobTimeout, match="no ComfyUI server became free"):
            with lease(["http://a:1"], lock_dir, health, sys.stderr, wait_seconds=0.3, poll=0.05):
                pass
    finally:
        release.set()
        t.join()
    with lease(["http://a:1"], lock_dir, health, sys.stderr) as (url, _):  # free again
        assert url == "http://a:1"


def test_preflight_lists_missing_classes_and_models_with_their_shots(server, tmp_path):
    c = settings_for(tmp_path, server.url)
    server.models["loras"] = ["akira_v2.safetensors"]
    custom = tmp_path / "custom.json.j2"
    custom.write_text(T2I.read_text().replace('"class_type": "VAEDecode"', '"class_type": "FancyDecode"'))
    plan = _plan(c)
    jobs = [
        ("still", plan.stills["s1"], T2I, "still test01/s1"),
        ("still", plan.stills["s2"], T2I, "still test01/s2"),
        ("still", plan.stills["s3"], custom, "still test01/s3"),
        ("clip", plan.clips["s1"], I2V, "clip test01/s1"),
    ]
    with pytest.raises(E.MissingOnServer) as e:
        preflight(jobs, c["comfyui"], sys.stderr)
    text = str(e.value)
    assert "node class 'FancyDecode': not on the server; update ComfyUI or install the custom node" in text
    assert "(needed by still test01/s3)" in text
    assert (
        "model file 'mei_working_v1.safetensors' (LoraLoader.lora_name): not on the server; put it in ComfyUI/models/loras/"
        in text
    )
    assert "(needed by still test01/s2)" in text
    assert text.count("- ") == 2 and server.received == []


def test_schedule_advice_for_servers_gpu_and_subsample():
    two = ["http://a:1", "http://b:2"]
    assert schedule_advice({"gpu": 2, "subsample": 1000, "pending": 30}, two) == []
    assert schedule_advice({"gpu": 1, "subsample": None, "pending": 30}, two) == [
        "--resources gpu=1 but comfyui.servers lists 2: only 1 will be used at a time (run with --resources gpu=2)"
    ]
    notes = schedule_advice({"gpu": None, "subsample": 50, "pending": 120}, two[:1])
    assert notes[0] == "no gpu limit: run with --resources gpu=1 so that at most one job uses each server"
    assert "use --workflow-profile profiles/comfyui" in notes[1]


def test_preflight_checks_numeric_ranges_and_the_ltx_frame_rule(server, tmp_path):
    """Measured on the real server: a denoise of 2.0 passed Tower's preflight and was refused
    at submit; LTX takes 8k+1 frames, at least 9 (its length input: min 9, step 8)."""
    c = settings_for(tmp_path, server.url)
    t2i, i2v = tmp_path / "t2i.json.j2", tmp_path / "i2v.json.j2"
    t2i.write_text(T2I.read_text().replace('"denoise": 1.0', '"denoise": 2.0'))
    i2v.write_text(I2V.read_text().replace('"length": {{ frames }}', '"length": 60'))
    plan = _plan(c)
    jobs = [("still", plan.stills["s1"], t2i, "still test01/s1"), ("clip", plan.clips["s1"], i2v, "clip test01/s1")]
    with pytest.raises(E.MissingOnServer) as e:
        preflight(jobs, c["comfyui"], sys.stderr)
    text = str(e.value)
    assert (
        "node 5: KSampler.denoise = 2.0: above the server's maximum 1.0 (allowed 0.0..1.0) (needed by still test01/s1)"
        in text
    )
    assert (
        "node 6: LTXVImgToVideo.length = 60: the server takes 9 plus a multiple of 8 (57 or 65); the model would "
        "round it to 57: set comfyui.clips.length_step to 8"
    ) in text
    assert server.received == []
    # the shipped templates, with the planned 8k+1 length, pass
    ok = [("still", plan.stills["s1"], T2I, "a"), ("clip", plan.clips["s1"], I2V, "b")]
    assert list(preflight(ok, c["comfyui"], sys.stderr)) == [server.url]


def test_preflight_names_the_clip_template_that_fits_the_servers_nodes(tmp_path):
    """A server without the core CreateVideo/SaveVideo (older, or saving with VideoHelperSuite):
    the preflight says the VHS_VideoCombine template fits it."""
    srv = FakeComfyUI(tmp_path / "vhs", missing_nodes=("CreateVideo", "SaveVideo")).start()
    try:
        c = settings_for(tmp_path, srv.url)
        plan = _plan(c)
        jobs = [("clip", plan.clips["s1"], I2V, "clip test01/s1"), ("still", plan.stills["s1"], T2I, "still test01/s1")]
        with pytest.raises(E.MissingOnServer) as e:
            preflight(jobs, c["comfyui"], sys.stderr)
        text = str(e.value)
        assert "node class 'SaveVideo': not on the server" in text
        assert (
            f"hint: {srv.url}: ltxv_i2v.json.j2 needs node classes this server lacks; the clips template(s) "
            "ltxv_i2v_vhs.json.j2 fit its nodes: set comfyui.clips.workflow"
        ) in text
        vhs = [("clip", plan.clips["s1"], VHS, "clip test01/s1")]
        assert list(preflight(vhs, c["comfyui"], sys.stderr)) == [srv.url]
    finally:
        srv.stop()


def test_the_double_speaks_the_real_servers_shapes(server, tmp_path):
    # COMBO-style dropdowns (newer nodes) are listed as such and not checked at submit time
    save_video = requests.get(server.url + "/object_info/SaveVideo").json()["SaveVideo"]["input"]["required"]
    assert save_video["format"][0] == "COMBO" and save_video["format"][1]["options"] == ["auto", "mp4"]
    # ... so the preflight catches a value the server would only refuse while running
    c = settings_for(tmp_path, server.url)
    webm = tmp_path / "webm.json.j2"
    webm.write_text(I2V.read_text().replace('"format": "mp4"', '"format": "webm"'))
    with pytest.raises(
        E.MissingOnServer, match=r"SaveVideo.format = 'webm': not offered by the server; allowed: \['auto', 'mp4'\]"
    ):
        preflight([("clip", _plan(c).clips["s1"], webm, "clip test01/s1")], c["comfyui"], sys.stderr)
    # validation errors: empty top-level details; a list of more than 20 options is not sent back
    server.models["checkpoints"] = [f"m{i}.safetensors" for i in range(25)]
    bad = requests.post(
        server.url + "/prompt", json={"prompt": render_template(T2I, still_vars()), "client_id": "x"}
    ).json()
    assert bad["error"]["details"] == ""
    err = bad["node_errors"]["1"]["errors"][0]
    assert (
        err["details"] == "ckpt_name: 'c.safetensors' not in (list of length 25)"
        and err["extra_info"]["input_config"] is None
    )
    text = str(E.prompt_rejected(bad, server.url))
    assert (
        "node 1 (CheckpointLoaderSimple) input 'ckpt_name': Value not in list [ckpt_name: 'c.safetensors' not in "
        "(list of length 25)]; received 'c.safetensors' (the model file is missing on the server" in text
    )


def test_credentials_in_a_server_url_are_masked_in_errors(tmp_path):
    # a closed port: the error names the URL, its credentials masked (everything to the last @);
    # a short restart budget: the job gives up after 1 s of refused connections, not the default 180
    c = settings_for(tmp_path, "http://tower:s3cr@t@127.0.0.1:9", restart_budget_s=1)
    with pytest.raises(E.ComfyUIError) as e:
        job("still", "s1", c, None).run(tmp_path / "a.png")
    assert "s3cr" not in str(e.value) and "t@127" not in str(e.value)
    assert "127.0.0.1:9" in str(e.value)
