"""The backend registry (tower_anime.backends): every built-in declared once, a clear error for
an unknown name, and a whole plugin backend in one module (tests/plugins/tower_card.py) that the
real workflow plans with its own module as the code input of its stills."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import PLUGINS, ROOT, copy_workflow, dump_yaml, load_yaml, planned_jobs
from PIL import Image

from tower_anime import backends, plugins
from tower_anime.errors import TowerError

BUILT_IN = {
    "stills": ["comfyui", "storyboard"],
    "clips": ["camera", "comfyui"],
    "voice": ["espeak", "http", "piper"],
    "music": ["fluidsynth", "http"],
}


@pytest.fixture
def card(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv(plugins.ENV, "tower_card")
    plugins.load_plugins()
    yield backends.get("stills", "card")
    # registries live for the process: other tests list the stills backends they expect
    backends._REGISTRY.pop(("stills", "card"), None)


def test_every_built_in_backend_is_declared_with_its_capabilities():
    for stage, names in BUILT_IN.items():
        assert set(names) <= set(backends.names(stage)), stage
    assert backends.get("clips", "camera").shortest_shot(24) == 6 and not backends.get("clips", "camera").seeded
    assert backends.get("stills", "storyboard").caption_height(512) == 76
    assert backends.get("stills", "comfyui").gpu and backends.get("clips", "comfyui").code == ()
    assert backends.get("voice", "piper").languages == ("en",)
    espeak = set(backends.get("voice", "espeak").languages)
    # not Japanese, Hakka or Mandarin: espeak-ng reads kanji as "Chinese letter" (backends/espeak.py)
    assert {"en", "fr", "ko", "yue"} <= espeak and not {"ja", "hak", "cmn"} & espeak
    assert backends.get("voice", "openjtalk").languages == ("ja",)


def test_an_unknown_backend_names_the_known_ones():
    with pytest.raises(TowerError, match=r"unknown music backend 'orchestra'; expected one of \['fluidsynth', 'http'"):
        backends.get("music", "orchestra")


def test_the_card_plugin_shapes_its_spec_and_draws_the_card(card, tmp_path):
    assert card.code == (str(PLUGINS / "tower_card.py"),)  # its own module, by default
    where = backends.PlanContext({"card": {"colour": "#ff8800"}}, "config", {}, {}, {"id": "street"})
    spec = card.spec_for({"shot": "s1", "scene": "street", "width": 96, "height": 64}, where)
    assert spec["card"] == {"colour": "#ff8800"}
    card.render(spec, tmp_path / "s1.png")
    pixels = np.asarray(Image.open(tmp_path / "s1.png"))
    assert pixels.shape == (64, 96, 3) and tuple(pixels[0, 0]) == (255, 136, 0)
    assert (pixels != pixels[0, 0]).any(axis=2).sum() > 20  # the shot id is drawn


def test_a_plugin_backends_code_input_is_its_own_module(tmp_path):
    work = copy_workflow(tmp_path / "work")
    cfg = load_yaml(work / "tests" / "data" / "config.yaml")
    cfg["backends"] = {**cfg.get("backends", {}), "stills": "card"}
    dump_yaml(cfg, work / "tests" / "data" / "config.yaml")
    env = {
        **os.environ,
        plugins.ENV: "tower_card",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", "tests/data/config.yaml"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    inputs = {}
    planned_jobs(proc.stdout + proc.stderr, inputs)
    # its code (as the stamp of its modules: tower_anime/codestamp.py) and its gate's verdict
    # (a refused still is made again), nothing of storyboard's
    stamps = {i for i in inputs["stills/test01/s1.png"] if i.startswith(".tower/code/")}
    assert len(stamps) == 1 and inputs["stills/test01/s1.png"] - stamps == {"reports/test01/stills/s1.verdict"}
    listed = (work / stamps.pop()).read_text().splitlines()  # "<sha256>  <module>" per module
    assert [line.split("  ", 1)[1] for line in listed] == [str(PLUGINS / "tower_card.py")]
    assert str(ROOT / "src" / "tower_anime" / "stills" / "storyboard.py") not in inputs["stills/test01/s1.png"]
