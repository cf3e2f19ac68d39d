"""Retakes (tower_anime.qc.takes.render_with_takes) with a stand-in backend whose takes pass
or fail by seed, and a check that reads the take's bytes: which takes are rendered, which is
promoted, what is recorded and logged. No real renderer runs (tests/test_qc_takes.py has those)."""

import json

import pytest

from tower_anime import backends
from tower_anime.errors import TowerError
from tower_anime.qc.report import check, make_report
from tower_anime.qc.takes import clip_with_takes, render_with_takes, still_changed


class Backend:
    """Writes "seed <n>" to the path; remembers the seeds and paths it rendered."""

    def __init__(self, seeded=True):
        self.seeded, self.seeds, self.paths = seeded, [], []

    def render(self, spec, *args, log=None, **runtime):
        *inputs, path = args
        self.seeds.append(spec.get("seed"))
        self.paths.append(path)
        path.write_text(f"seed {spec.get('seed')}")


def grader(margins):
    """A check: the take with seed s measures 1 + margins[s] against a floor of 1 (its own bytes say
    the seed), so its score's margin is margins[s]."""

    def check_take(path, spec):
        seed = int(path.read_text().split()[1])
        assert seed == spec["seed"]
        return make_report("still", "ep/s1", [check("quality", 1 + margins[seed], ">=", 1)])

    return check_take


def run(tmp_path, margins, takes=3, spec=None, **kw):
    backend = Backend()
    out = tmp_path / "stills" / "s1.png"
    summary = render_with_takes(
        backend, grader(margins), spec or {"seed": 10}, (), out, tmp_path / "s1.takes.json", takes, **kw
    )
    return backend, out, summary


def test_the_first_passing_take_ends_the_retakes(tmp_path):
    backend, out, summary = run(tmp_path, {10: -0.5, 11: 0.3, 12: 0.9})
    assert backend.seeds == [10, 11]
    assert out.read_text() == "seed 11"
    assert summary == {
        "takes": [
            {"take": 1, "seed": 10, "checked": True, "pass": False, "failed": ["quality"],
             "report": str(tmp_path / "s1.take1.json")},
            {"take": 2, "seed": 11, "checked": True, "pass": True, "failed": [],
             "report": str(tmp_path / "s1.take2.json")},
        ],
        "promoted": 2,
        "seed": 11,
    }  # fmt: skip
    assert json.loads((tmp_path / "s1.takes.json").read_text()) == summary
    take1 = json.loads((tmp_path / "s1.take1.json").read_text())
    assert (take1["take"], take1["seed"], take1["pass"]) == (1, 10, False)
    assert take1["file"] == f"take 1 of {out} (not kept unless promoted)"
    assert sorted(p.name for p in out.parent.iterdir()) == ["s1.png"]  # the takes' folder is gone


def test_every_take_is_rendered_when_asked_and_the_best_promoted(tmp_path):
    backend, out, summary = run(tmp_path, {10: 0.2, 11: 0.9, 12: 0.5, 13: 0.1}, takes=4, render_all=True)
    assert backend.seeds == [10, 11, 12, 13]
    assert summary["promoted"] == 2 and summary["seed"] == 11 and out.read_text() == "seed 11"


def test_when_no_take_passes_the_least_bad_is_promoted(tmp_path):
    backend, out, summary = run(tmp_path, {10: -0.9, 11: -0.1, 12: -0.6})
    assert backend.seeds == [10, 11, 12]
    assert [t["pass"] for t in summary["takes"]] == [False, False, False]
    assert summary["promoted"] == 2 and out.read_text() == "seed 11"


def test_of_equally_good_takes_the_earlier_is_promoted(tmp_path):
    _, out, summary = run(tmp_path, {10: -0.4, 11: -0.2, 12: -0.2})
    assert summary["promoted"] == 2 and out.read_text() == "seed 11"


def test_one_take_by_default_and_a_seedless_spec_starts_at_seed_0(tmp_path):
    backend = Backend()
    out = tmp_path / "s1.png"
    summary = render_with_takes(backend, grader({}), {}, (), out, tmp_path / "s1.takes.json")
    assert summary == {"takes": [{"take": 1, "seed": 0, "checked": False}], "promoted": 1, "seed": 0}
    assert json.loads((tmp_path / "s1.takes.json").read_text()) == summary
    assert backend.paths == [out]  # rendered straight to the output: nothing to choose between


def test_one_take_asked_or_an_unseeded_backend_renders_once_unchecked(tmp_path):
    for takes, seeded in ((1, True), (0, True), (3, False)):
        backend = Backend(seeded)
        out = tmp_path / f"{takes}{seeded}.png"
        summary = render_with_takes(backend, grader({}), {"seed": 4}, (), out, tmp_path / "t.takes.json", takes)
        assert summary == {"takes": [{"take": 1, "seed": 4, "checked": False}], "promoted": 1, "seed": 4}
        assert backend.paths == [out]
    backend, _, summary = run(tmp_path, {10: -1, 11: 1}, takes=2)
    assert backend.seeds == [10, 11]  # two takes asked of a seeded backend: both checked


def test_the_output_folder_is_made_when_missing_and_kept_when_there(tmp_path):
    _, out, _ = run(tmp_path / "a" / "b", {10: 1})
    assert out == tmp_path / "a" / "b" / "stills" / "s1.png" and out.exists()
    _, out, _ = run(tmp_path / "a" / "b", {10: 1})  # the folder exists now
    assert out.read_text() == "seed 10"


def test_each_take_is_logged_as_it_finishes(tmp_path):
    log_path = tmp_path / "job.log"
    seen = []

    def watching(path, spec):
        seen.append(log_path.read_text())  # what a person tailing the log sees before this check
        return grader({10: -0.5, 11: 0.5})(path, spec)

    with open(log_path, "w") as log:
        out = tmp_path / "s1.png"
        render_with_takes(Backend(), watching, {"seed": 10}, (), out, tmp_path / "s1.takes.json", 3, log=log)
        after = log_path.read_text()
    assert seen == ["", "take 1 (seed 10): FAIL; failed checks: quality=0.5\n"]
    assert after == (
        "take 1 (seed 10): FAIL; failed checks: quality=0.5\n"
        "take 2 (seed 11): pass; failed checks: none\n"
        f"promoted take 2 (seed 11) of 2 to {out}\n"
    )


def test_stale_take_reports_of_this_shot_only_are_removed(tmp_path):
    for name in [
        "s1.take1.json",
        "s1.take7.json",
        "s1.take12.json",
        "s1.take7b.json",  # not a take report
        "s1.take.json",
        "s10.take1.json",  # another shot's
    ]:
        (tmp_path / name).write_text("{}")
    run(tmp_path, {10: 1})
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [
        "s1.take.json",
        "s1.take1.json",  # this run's take 1
        "s1.take7b.json",
        "s1.takes.json",
        "s10.take1.json",
    ]
    assert json.loads((tmp_path / "s1.take1.json").read_text())["seed"] == 10


def test_a_backend_error_is_raised_even_when_the_backend_removed_the_takes_folder(tmp_path):
    class Crashing(Backend):
        def render(self, spec, path, log=None):
            path.parent.rmdir()  # it cleaned up after itself, folder included
            raise TowerError("the model server went away")

    with pytest.raises(TowerError, match="the model server went away"):
        render_with_takes(Crashing(), grader({}), {"seed": 1}, (), tmp_path / "s1.png", tmp_path / "t.json", 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_clip_without_seeds_takes_its_stills_or_0(tmp_path, monkeypatch):
    fake = backends.Backend("clips", "test_seedless", Backend(seeded=False).render, seeded=False)
    monkeypatch.setitem(backends._REGISTRY, ("clips", "test_seedless"), fake)
    still = tmp_path / "s1.png"
    still.write_bytes(b"a still")
    qc = {"clip": {}, "takes": 3, "render_all_takes": False}
    for spec, seed in (({"still": {"seed": 7}}, 7), ({"still": {}}, 0), ({"seed": 3, "still": {"seed": 7}}, 3)):
        spec["backend"] = "test_seedless"
        summary = clip_with_takes(spec, still, tmp_path / "s1.mp4", tmp_path / "s1.takes.json", qc)
        assert summary["seed"] == seed and summary["takes"] == [{"take": 1, "seed": seed, "checked": False}]


def test_a_still_with_the_clips_mtime_is_not_newer(tmp_path):
    import os

    still, clip, takes = tmp_path / "s.png", tmp_path / "s.mp4", tmp_path / "s.takes.json"
    still.write_bytes(b"new")
    clip.write_bytes(b"clip")
    takes.write_text(json.dumps({"still_sha256": "0" * 64}))  # other bytes than the still's
    os.utime(clip, (100, 100))
    os.utime(still, (100, 100))
    assert not still_changed(still, clip, takes)
    os.utime(still, (101, 101))
    assert still_changed(still, clip, takes)
    clip.unlink()
    assert not still_changed(still, clip, takes)  # no clip yet: it is made anyway
