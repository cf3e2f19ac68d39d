"""The real workflow on the small test episode: the delivered MKV, incremental re-planning,
bad input stopped before any job. (QC gates in a real run: tests/test_qc_workflow.py.)"""

import json

import pytest
from conftest import (
    copy_workflow,
    dump_yaml,
    episode_jobs,
    fork_project,
    load_yaml,
    planned_jobs,
    shot_jobs,
    snakemake,
    sound_jobs,
)

from tower_anime.media import count_frames, loudness, probe

pytestmark = pytest.mark.workflow
EP = "test01"


def planned(workdir, *args, plugins=False):
    """{(rule, first output)} a dry run would execute (the aggregate `all` left out)."""
    proc = snakemake(workdir, "-n", *args, plugins=plugins)
    return planned_jobs(proc.stdout + proc.stderr)


fork = fork_project


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
    srt = (built / "subs" / f"{EP}.eng.srt").read_text()
    assert [b.split("\n")[2] for b in srt.strip().split("\n\n")] == ["Go!", "Hurry.", "Welcome."]


def test_reports_are_written_and_pass(built):
    report = json.loads((built / "reports" / EP / "episode.json").read_text())
    assert report["pass"] and {c["metric"] for c in report["checks"]} >= {"loudness_off_target", "chapters"}
    for shot in ("s1", "s2", "s3"):
        clip = json.loads((built / "reports" / EP / "clips" / f"{shot}.json").read_text())
        assert clip["pass"] and {c["metric"] for c in clip["checks"]} >= {"frames", "black_fraction"}
        still = json.loads((built / "reports" / EP / "stills" / f"{shot}.json").read_text())
        assert still["pass"] and {c["metric"] for c in still["checks"]} >= {"luma_std", "sharpness"}
    for kind, n in (("voice", 3), ("music", 2)):
        reports = [json.loads(p.read_text()) for p in (built / "reports" / EP / kind).glob("*.json")]
        assert len(reports) == n and all(r["pass"] for r in reports)


def test_no_temporary_files_left(built):
    leftovers = [
        p
        for d in ("stills", "clips", "audio", "subs", "episodes", "build", "reports")
        for p in (built / d).rglob("*")
        if ".tmp" in p.name
    ]
    assert leftovers == []


# --- incremental builds ----------------------------------------------------------------


def test_nothing_edited_nothing_to_do(built):
    assert planned(built) == set()


EPISODE_JOBS = episode_jobs(EP)


def test_editing_an_action_replans_that_shot_and_the_episode(built, tmp_path):
    work = fork(built, tmp_path)
    edit_episode(work, lambda d: d["scenes"][0]["shots"][1].update(action="Luna slams the desk."))
    assert planned(work) == shot_jobs("s2") | EPISODE_JOBS


def test_editing_a_character_replans_only_their_shots(built, tmp_path):
    work = fork(built, tmp_path)
    path = work / "config" / "characters.yaml"
    chars = load_yaml(path)
    chars["characters"]["viktor"]["description"] += ", a scar over one eyebrow"
    dump_yaml(chars, path)
    assert planned(work) == shot_jobs("s3") | EPISODE_JOBS


def test_editing_a_line_replans_its_voice_subtitles_mix_and_episode(built, tmp_path):
    work = fork(built, tmp_path)
    # a line that still fits its shot: the sound, the episode and that shot's clip move (its
    # speaker's mouth follows the new voice); its still and every other clip stay
    edit_episode(work, lambda d: d["scenes"][1]["shots"][0]["dialogue"][0].update(text="Welcome!"))
    assert (
        planned(work)
        == {
            ("voice", f"audio/{EP}/voice/s3_l1.wav"),
            ("qc_voice", f"reports/{EP}/voice/s3_l1.json"),
            ("clip", f"clips/{EP}/s3.mp4"),
            ("qc_clip", f"reports/{EP}/clips/s3.json"),
            ("segment", f"build/{EP}/segments/s3.ts"),
            ("place_lines", f"build/{EP}/placement.json"),
            ("subtitles", f"subs/{EP}.eng.srt"),
        }
        | sound_jobs(EP)
        | EPISODE_JOBS
    )


def test_changing_a_mood_replans_that_scenes_music(built, tmp_path):
    work = fork(built, tmp_path)
    edit_episode(work, lambda d: d["scenes"][1].update(mood="triumphant"))
    assert (
        planned(work)
        == {
            ("music", f"audio/{EP}/music/office.wav"),
            ("qc_music", f"reports/{EP}/music/office.json"),
        }
        | sound_jobs(EP)
        | EPISODE_JOBS
    )


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


def test_the_previews_subtitles_are_the_masters_to_the_millisecond(built, tmp_path):
    # the master's sound starts 7 ms before zero (Opus pre-skip): a plain extraction shifted
    # every cue of the preview by that much
    import re
    import subprocess

    from tower_anime.episode.preview import subtitles_vtt

    master = built / "build" / EP / "master.mkv"
    out = tmp_path / "preview.vtt"
    subtitles_vtt(master, out)
    starts = re.findall(r"^(\d\d):(\d\d)\.(\d\d\d) -->", out.read_text(), re.M)
    cues = [int(m) * 60 + int(s) + int(ms) / 1000 for m, s, ms in starts]
    packets = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "s:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
            str(master),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert cues and cues == [round(float(t), 3) for t in packets], (cues, packets)
