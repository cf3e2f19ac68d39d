"""The hard episode (tests/data/hard): every awkward case of dialogue timing and every
transition, built on the first run with the default config and no waivers. The gates prove
the cut; this test also reads the delivered file itself, independently of the gates."""

import json

import pytest
from conftest import copy_workflow, snakemake

from tower_anime.config import load_config
from tower_anime.media import count_frames, ffmpeg, probe
from tower_anime.qc.subtitles import parse_srt
from tower_anime.story import load_story, plan_story

EP = "hard01"
CONFIG = "tests/data/hard.yaml"

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("hard") / "project")
    snakemake(work, "--cores", "2", f"episodes/{EP}.mkv", config=CONFIG)
    cfg = load_config(work / CONFIG)
    story = load_story(work / "config" / "characters.yaml", work / "tests" / "data" / "hard", [EP])
    return work, plan_story(story, cfg)[EP], cfg


def test_every_gate_passes_without_a_waiver(hard):
    work, _, cfg = hard
    assert cfg["qc"]["waive"] == []
    reports = sorted((work / "reports" / EP).rglob("*.json"))
    bad = {}
    for path in reports:
        report = json.loads(path.read_text())
        if "checks" in report:
            failed = [c["metric"] for c in report["checks"] if not c["pass"]]
            if failed:
                bad[str(path.relative_to(work))] = failed
    assert bad == {}
    assert (work / "episodes" / f"{EP}.mkv").is_file()


def test_the_picture_is_exact(hard):
    work, plan, _ = hard
    mkv = work / "episodes" / f"{EP}.mkv"
    assert count_frames(mkv) == plan.total_frames
    duration = float(probe(mkv)["format"]["duration"])
    assert duration == pytest.approx(plan.total_frames / plan.fps, abs=0.0015)


def test_every_line_and_its_subtitles_stay_in_their_own_shot(hard):
    work, plan, _ = hard
    placed = json.loads((work / "build" / EP / "placement.json").read_text())["lines"]
    script = [(c["line"], c["text"]) for c in plan.cues]
    assert [(c["line"], c["text"]) for c in placed] == script
    for cue in placed:
        lo, hi = cue["window"]
        assert lo <= cue["start"] < cue["end"] <= hi, cue
    muxed = ffmpeg(["-i", work / "episodes" / f"{EP}.mkv", "-map", "0:s:0", "-f", "srt", "-"], "subs").stdout
    events = parse_srt(muxed)
    end = plan.total_frames / plan.fps
    assert all(e[1] <= end + 1e-6 for e in events)
    # every event lies inside the window of the line whose text it spells, in order
    i = 0
    for cue in placed:
        words, text = [], " ".join(cue["text"].split())
        while len(" ".join(words)) < len(text):
            start, stop, body = events[i]
            lo, hi = cue["window"]
            assert lo - 1e-3 <= start < stop <= hi + 1e-3, (cue["line"], events[i])
            words.append(" ".join(body.split()))
            i += 1
        assert " ".join(words) == text
    assert i == len(events)


def test_the_short_long_and_empty_shots_are_as_scripted(hard):
    _, plan, _ = hard
    rows = {r["shot"]: r for r in plan.shots}
    assert rows["r_blink"]["frames"] == 24 and rows["r_city"]["frames"] == 240 and rows["g_empty"]["frames"] == 36
    assert rows["r_brief"]["frames"] > 121  # two long lines grew their shot
