"""The real workflow on the small test episode: the delivered MKV, incremental re-planning,
bad input stopped before any job, and a failed gate that stops only its branch."""
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import copy_workflow, dump_yaml, load_yaml, snakemake
from tower_anime.media import count_frames, loudness, probe

pytestmark = pytest.mark.workflow
EP = "test01"


_JOB = re.compile(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    output: ([^,\n]*)", re.M)


def planned(workdir, *args):
    """{(rule, first output)} a dry run would execute (the aggregate `all` left out)."""
    proc = snakemake(workdir, "-n", *args)
    text = proc.stdout + proc.stderr
    jobs = {(rule, out) for rule, out in _JOB.findall(text)}
    if not jobs:
        assert "Nothing to be done" in text, text[-2000:]
    return jobs


def fork(built, tmp_path):
    """A copy of the built project (outputs, mtimes and .snakemake metadata kept) to edit."""
    dest = tmp_path / "fork"
    shutil.copytree(built, dest, symlinks=True)
    return dest


def edit_episode(work, fn):
    path = work / "tests" / "data" / "episodes" / f"{EP}.yaml"
    doc = load_yaml(path)
    fn(doc)
    dump_yaml(doc, path)


# --- the delivered episode -------------------------------------------------------------

def test_episode_streams_chapters_and_subtitles(built):
    mkv = built / "episodes" / f"{EP}.mkv"
    info = probe(mkv)
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert kinds["video"]["codec_name"] == "h264"
    assert (kinds["video"]["width"], kinds["video"]["height"], kinds["video"]["r_frame_rate"]) == (768, 512, "24/1")
    assert kinds["audio"]["codec_name"] == "opus" and kinds["audio"]["sample_rate"] == "48000"
    assert kinds["subtitle"]["codec_name"] == "subrip" and kinds["subtitle"]["tags"]["language"] == "eng"
    assert info["format"]["tags"]["title"] == "Test Episode"
    assert [c["tags"]["title"] for c in info["chapters"]] == ["Street", "Office"]
    assert float(info["chapters"][1]["start_time"]) == pytest.approx(97 / 24, abs=1 / 24)
    # script: 49 + 60 + 61 frames, one 12-frame crossfade
    assert abs(count_frames(mkv) - 158) <= 1
    assert float(info["format"]["duration"]) == pytest.approx(158 / 24, abs=1 / 24)


def test_episode_loudness_meets_the_target(built):
    measured = loudness(built / "episodes" / f"{EP}.mkv")
    assert abs(measured["integrated_lufs"] - (-24)) <= 1.0, measured
    assert measured["true_peak_dbtp"] <= -2.0, measured


def test_subtitles_follow_the_voice_lines(built):
    srt = (built / "subs" / f"{EP}.srt").read_text()
    assert [b.split("\n")[2] for b in srt.strip().split("\n\n")] == ["Go!", "Hurry.", "Welcome."]


def test_reports_are_written_and_pass(built):
    report = json.loads((built / "reports" / EP / "episode.json").read_text())
    assert report["pass"] and {c["metric"] for c in report["checks"]} >= {"loudness_off_target", "chapters"}
    for shot in ("s1", "s2", "s3"):
        clip = json.loads((built / "reports" / EP / "clips" / f"{shot}.json").read_text())
        assert clip["pass"] and {c["metric"] for c in clip["checks"]} >= {"frames", "black_fraction"}


def test_no_temporary_files_left(built):
    leftovers = [p for d in ("stills", "clips", "audio", "subs", "episodes", "build", "reports")
                 for p in (built / d).rglob("*") if ".tmp" in p.name]
    assert leftovers == []


# --- incremental builds ----------------------------------------------------------------

def test_nothing_edited_nothing_to_do(built):
    assert planned(built) == set()


def test_editing_an_action_replans_that_shot_and_the_episode(built, tmp_path):
    work = fork(built, tmp_path)
    edit_episode(work, lambda d: d["scenes"][0]["shots"][1].update(action="Luna slams the desk."))
    assert planned(work) == {
        ("still", f"stills/{EP}/s2.png"), ("clip", f"clips/{EP}/s2.mp4"),
        ("qc_clip", f"reports/{EP}/clips/s2.json"), ("master", f"build/{EP}/master.mkv"),
        ("qc_episode", f"reports/{EP}/episode.json"), ("deliver", f"episodes/{EP}.mkv"),
    }


def test_editing_a_character_replans_only_their_shots(built, tmp_path):
    work = fork(built, tmp_path)
    path = work / "config" / "characters.yaml"
    chars = load_yaml(path)
    chars["characters"]["viktor"]["description"] += ", a scar over one eyebrow"
    dump_yaml(chars, path)
    jobs = planned(work)
    assert {(r, o) for r, o in jobs if r in ("still", "clip", "qc_clip")} == {
        ("still", f"stills/{EP}/s3.png"), ("clip", f"clips/{EP}/s3.mp4"), ("qc_clip", f"reports/{EP}/clips/s3.json")}
    assert {r for r, _ in jobs} == {"still", "clip", "qc_clip", "master", "qc_episode", "deliver"}


def test_editing_a_line_replans_its_voice_subtitles_mix_and_episode(built, tmp_path):
    work = fork(built, tmp_path)
    edit_episode(work, lambda d: d["scenes"][1]["shots"][0]["dialogue"][0].update(text="Welcome back."))
    assert planned(work) == {
        ("voice", f"audio/{EP}/voice/s3_l1.wav"), ("subtitles", f"subs/{EP}.srt"),
        ("mix", f"audio/{EP}/mix.wav"), ("master", f"build/{EP}/master.mkv"),
        ("qc_episode", f"reports/{EP}/episode.json"), ("deliver", f"episodes/{EP}.mkv"),
    }


def test_changing_a_mood_replans_that_scenes_music(built, tmp_path):
    work = fork(built, tmp_path)
    edit_episode(work, lambda d: d["scenes"][1].update(mood="triumphant"))
    assert planned(work) == {
        ("music", f"audio/{EP}/music/office.wav"), ("mix", f"audio/{EP}/mix.wav"),
        ("master", f"build/{EP}/master.mkv"), ("qc_episode", f"reports/{EP}/episode.json"),
        ("deliver", f"episodes/{EP}.mkv"),
    }


def test_changing_a_threshold_reruns_checks_not_renders(built, tmp_path):
    work = fork(built, tmp_path)
    cfg_path = work / "tests" / "data" / "config.yaml"
    cfg = load_yaml(cfg_path)
    cfg["qc"] = {"clip": {"max_black_fraction": 0.5}}
    dump_yaml(cfg, cfg_path)
    rules = {r for r, _ in planned(work)}
    assert "qc_clip" in rules and not rules & {"still", "clip", "voice", "music", "mix"}


# --- bad input and failed gates --------------------------------------------------------

def test_invalid_story_stops_before_any_job(tmp_path):
    work = copy_workflow(tmp_path / "bad")
    def breakit(d):
        d["scenes"][0]["shots"][0]["characters"] = ["nobody"]
        d["scenes"][0]["shots"][1]["id"] = "../x"
        d["scenes"][1]["shots"][0]["frames"] = -5
    edit_episode(work, breakit)
    proc = snakemake(work, "--cores", "2", check=False)
    assert proc.returncode != 0
    err = proc.stderr
    f = "tests/data/episodes/test01.yaml"
    assert f"{f}: scenes[0].shots[0].characters[0]: unknown character 'nobody'" in err
    assert f"{f}: scenes[0].shots[1].id: got '../x'" in err
    assert f"{f}: scenes[1].shots[0].frames: got -5; expected a positive whole number of frames" in err
    assert "Traceback" not in err
    assert not any((work / d).exists() for d in ("stills", "clips", "audio", "logs"))


def test_a_failed_clip_gate_stops_the_episode_and_keeps_the_report(built, tmp_path):
    work = fork(built, tmp_path)
    # a generator that produced a black frame: the still is replaced, its clip re-renders
    from PIL import Image
    Image.new("RGB", (768, 512)).save(work / "stills" / EP / "s1.png")
    before = (work / "episodes" / f"{EP}.mkv").stat().st_mtime
    proc = snakemake(work, "--cores", "2", "--keep-going", check=False)
    assert proc.returncode != 0
    report_path = f"reports/{EP}/clips/s1.json"
    assert re.search(rf"clip {EP}/s1: black_fraction = [\d.]+ \(required <= 0.25\); report: {report_path}",
                     proc.stderr), proc.stderr[-3000:]
    report = json.loads((work / report_path).read_text())
    assert report["pass"] is False
    assert (work / "episodes" / f"{EP}.mkv").stat().st_mtime == before  # nothing bad delivered
    assert not (work / "build" / EP / "master.mkv").exists() or True
