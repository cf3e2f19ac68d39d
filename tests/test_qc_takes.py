"""Retakes around a backend (tower_anime.qc.takes) and backend plugins (tower_anime.plugins),
with the real storyboard renderer and the test-only `flaky` backend: no cast on even seeds."""

import copy
import json

import numpy as np
import pytest
from conftest import PLUGINS, ROOT
from PIL import Image

from tower_anime import plugins
from tower_anime.config import load_config
from tower_anime.errors import InvalidInput
from tower_anime.fsutil import sha256_file
from tower_anime.qc.takes import clip_with_takes, still_changed, still_with_takes
from tower_anime.stills import storyboard as sb

QC = load_config(ROOT / "config" / "config.yaml")["qc"]
LUNA = {
    "id": "luna",
    "name": "Luna Chen",
    "description": "researcher",
    "palette": {"hair": "#d9dde6", "skin": "#f3d2b8", "outfit": "#f4f4f0", "accent": "#b04dff"},
}


@pytest.fixture
def flaky(monkeypatch):
    """The test plugin, loaded the way the workflow loads it: TOWER_PLUGINS + PYTHONPATH."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv(plugins.ENV, "tower_test_backends")
    plugins.load_plugins()
    return "flaky"


def spec(seed=12, backend="flaky"):
    return {
        "episode": "ep",
        "scene": "sc",
        "shot": "sh1",
        "location": "Neo-Tokyo street at night",
        "time_of_day": "night",
        "camera": {"move": "pan_left", "framing": "medium"},
        "action": "Luna calls.",
        "seed": seed,
        "width": 768,
        "height": 512,
        "backend": backend,
        "characters": [copy.deepcopy(LUNA)],
    }


def qc(**over):
    return {**copy.deepcopy(QC), **over}


def paths(tmp_path):
    return tmp_path / "stills" / "sh1.png", tmp_path / "reports" / "sh1.takes.json"


def test_a_failed_take_is_rendered_again_with_the_next_seed(flaky, tmp_path):
    out, takes = paths(tmp_path)
    summary = still_with_takes(spec(12), out, takes, qc(takes=3))
    assert [(t["take"], t["seed"], t["pass"]) for t in summary["takes"]] == [(1, 12, False), (2, 13, True)]
    assert summary["promoted"] == 2 and json.loads(takes.read_text()) == summary
    take1 = json.loads((takes.parent / "sh1.take1.json").read_text())
    assert {c["metric"] for c in take1["checks"] if not c["pass"]} == {"palette[luna]", "palette_colours[luna]"}
    assert json.loads((takes.parent / "sh1.take2.json").read_text())["pass"]
    # the promoted file is take 2 itself: the storyboard of seed 13
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(sb.draw_storyboard(spec(13, "storyboard"))))
    assert sorted(p.name for p in out.parent.iterdir()) == ["sh1.png"]  # no take left behind


def test_when_no_take_passes_the_best_is_kept_and_fails_its_gate(flaky, tmp_path):
    out, takes = paths(tmp_path)
    strict = qc(takes=3, still={**QC["still"], "min_sharpness": 1e9})  # no still can pass
    summary = still_with_takes(spec(12), out, takes, strict)
    assert [t["pass"] for t in summary["takes"]] == [False, False, False]
    # seeds 13 fail one check, 12 and 14 three (no cast): take 2 is the least bad
    assert summary["promoted"] == 2 and out.exists()


def test_render_all_takes_and_stale_take_reports(flaky, tmp_path):
    out, takes = paths(tmp_path)
    takes.parent.mkdir(parents=True)
    (takes.parent / "sh1.take7.json").write_text("{}")  # from an older render of this shot
    (takes.parent / "sh10.take1.json").write_text("{}")  # another shot's
    summary = still_with_takes(spec(12), out, takes, qc(takes=3, render_all_takes=True))
    assert [t["pass"] for t in summary["takes"]] == [False, True, False] and summary["promoted"] == 2
    assert sorted(p.name for p in takes.parent.iterdir()) == [
        "sh1.take1.json",
        "sh1.take2.json",
        "sh1.take3.json",
        "sh1.takes.json",
        "sh10.take1.json",
    ]


def test_one_take_or_a_seedless_backend_is_not_checked_twice(tmp_path):
    out, takes = paths(tmp_path)
    summary = still_with_takes(spec(12, "storyboard"), out, takes, qc(takes=1))
    assert summary["takes"] == [{"take": 1, "seed": 12, "checked": False}]
    clip_spec = {"still": spec(12, "storyboard"), "frames": 12, "fps": 24, "backend": "camera", "hold_top": 76}
    summary = clip_with_takes(clip_spec, out, tmp_path / "clip.mp4", tmp_path / "clip.takes.json", qc(takes=3))
    assert summary["takes"] == [{"take": 1, "seed": 12, "checked": False}]  # the camera ignores seeds
    assert (tmp_path / "clip.mp4").stat().st_size > 0
    assert summary["still_sha256"] == sha256_file(out)  # what still_changed compares with
    assert json.loads((tmp_path / "clip.takes.json").read_text()) == summary


def test_a_still_counts_as_changed_when_newer_than_its_clip_with_other_bytes(tmp_path):
    import os

    still, clip, takes = tmp_path / "s.png", tmp_path / "s.mp4", tmp_path / "s.takes.json"
    assert not still_changed(still, clip, takes)  # nothing built yet
    still.write_bytes(b"old")
    clip.write_bytes(b"clip")
    takes.write_text(json.dumps({"still_sha256": sha256_file(still)}))
    os.utime(clip, (100, 100))
    os.utime(still, (50, 50))
    assert not still_changed(still, clip, takes)  # older than the clip
    os.utime(still, (200, 200))
    assert not still_changed(still, clip, takes)  # touched, same bytes
    still.write_bytes(b"new")
    os.utime(still, (200, 200))
    assert still_changed(still, clip, takes)
    takes.write_text("{}")  # made before the clip recorded its still: the mtime decides
    assert still_changed(still, clip, takes)


def test_config_accepts_plugin_backends_and_names_unknown_ones(flaky, tmp_path):
    cfg = load_config(ROOT / "tests" / "data" / "config.yaml", {"backends": {"stills": "flaky"}})
    assert cfg["backends"]["stills"] == "flaky"
    with pytest.raises(InvalidInput) as err:
        load_config(ROOT / "tests" / "data" / "config.yaml", {"backends": {"stills": "dalle", "clips": "camera"}})
    assert "backends.stills: unknown stills backend 'dalle'; expected one of ['comfyui', 'flaky', 'storyboard']" in str(
        err.value
    )
