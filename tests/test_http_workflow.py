"""The real workflow through the voice and music services (tests/audio_service.py on 127.0.0.1):
an episode built with HTTP backends, the `streaming` delivery profile and shots that grow to
fit their dialogue; what re-plans when the request template changes; and service faults that
stop a job with the documented message and leave nothing in audio/."""

import json
import os
import re
import subprocess
import sys

import pytest
from audio_service import AudioService
from conftest import copy_workflow, dump_yaml, episode_jobs, fork_project, load_yaml, planned_jobs, sound_jobs

from tower_anime.media import count_frames, loudness, probe

pytestmark = pytest.mark.workflow
EP = "test01"
TOKEN = "tok-5b1c-workflow-secret"
ENV = "TOWER_TEST_TOKEN"
LONG = "Hurry. They are already inside the building, and the drive is still in your bag."
CONFIG = ["--configfile", "tests/data/config.yaml", "http.yaml"]


def run(workdir, *args, token=TOKEN, check=True):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if token is not None:
        env[ENV] = token
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *CONFIG, *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned(workdir):
    proc = run(workdir, "-n")
    return planned_jobs(proc.stdout + proc.stderr)


def http_config(svc):
    common = {"token_env": ENV, "timeout_s": 20, "connect_timeout_s": 2, "retries": 3, "backoff_s": 0.05}
    return {
        "backends": {"voice": "http", "music": "http"},
        "voice": {"http": {"url": svc.url("/api/voice/synthesize"), **common}},
        "music": {
            "http": {
                "url": svc.url("/api/music/generate"),
                **common,
                "reply": {"type": "base64", "pointer": "/result/audio"},
            }
        },
        "loudness": {"profile": "streaming"},
    }


def project(dest, svc):
    """The workflow with the test episode, s2's line made longer than its 2.5 s shot."""
    work = copy_workflow(dest)
    path = work / "tests" / "data" / "episodes" / f"{EP}.yaml"
    doc = load_yaml(path)
    doc["scenes"][0]["shots"][0]["dialogue"][0]["emotion"] = "urgent"
    doc["scenes"][0]["shots"][1]["dialogue"][0]["text"] = LONG
    dump_yaml(doc, path)
    dump_yaml(http_config(svc), work / "http.yaml")
    return work


@pytest.fixture(scope="module")
def svc():
    with AudioService(token=TOKEN, music_seconds=3.0) as service:
        service.reply["music"] = "base64"
        yield service


@pytest.fixture(scope="module")
def built(svc, tmp_path_factory):
    work = project(tmp_path_factory.mktemp("http") / "base", svc)
    svc.inject("voice", "500", "503")  # the first answers fail: the jobs retry
    run(work, "--cores", "2")
    return work


fork = fork_project


# --- the episode built through the services ------------------------------------------------


def test_the_services_got_the_rendered_requests_with_the_token(svc, built):
    voice = {c[4]["text"]: c for c in svc.calls("voice")}
    assert {(b["voice_id"], b["emotion"]) for _, _, _, _, b in voice.values()} == {
        ("akira", "urgent"),
        ("luna", "neutral"),
        ("viktor", "neutral"),
    }
    assert all(c[3]["Authorization"] == f"Bearer {TOKEN}" for c in svc.requests)
    timeline = json.loads((built / "build" / EP / "timeline.json").read_text())
    durations = {s["scene"]: round(s["frames"] / 24, 4) for s in timeline["scenes"]}
    assert {c[4]["scene_id"]: c[4]["duration"] for c in svc.calls("music")} == durations
    logs = "".join(p.read_text() for p in (built / "logs" / EP / "voice").glob("*.log"))
    assert "HTTP 500: model worker crashed" in logs and "HTTP 503" in logs  # retried, then built


def test_the_long_line_grew_its_shot_and_the_subtitles_follow_the_voice(built):
    timeline = json.loads((built / "build" / EP / "timeline.json").read_text())
    s2 = {s["shot"]: s for s in timeline["shots"]}["s2"]
    assert s2["frames"] > 60  # the script said 2.5 s
    mkv = built / "episodes" / f"{EP}.mkv"
    assert abs(count_frames(mkv) - timeline["total_frames"]) <= 1
    srt = (built / "subs" / f"{EP}.eng.srt").read_text().strip().split("\n\n")
    times = [re.findall(r"(\d\d):(\d\d):(\d\d),(\d{3})", b.split("\n")[1]) for b in srt]
    seconds = [[int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in t] for t in times]
    s2_end = (s2["start_frame"] + s2["frames"]) / 24
    luna = [t for t, b in zip(seconds, srt) if "Hurry" in b or "building" in b or "bag" in b]
    assert luna and luna[-1][1] <= s2_end and luna[0][0] >= s2["start_frame"] / 24


def test_music_replies_were_fitted_to_their_scenes(built):
    logs = {p.stem: p.read_text() for p in (built / "logs" / EP / "music").glob("*.log")}
    assert "looped" in logs["street"] and "cut from 3.00 s" in logs["office"]
    timeline = json.loads((built / "build" / EP / "timeline.json").read_text())
    for scene in timeline["scenes"]:
        s = probe(built / "audio" / EP / "music" / f"{scene['scene']}.wav")["streams"][0]
        assert int(s["duration_ts"]) == round(round(scene["frames"] / 24, 4) * 48000)  # the spec rounds to 0.1 ms


def test_streaming_delivery_stems_and_report(built):
    stems = built / "audio" / EP / "stems"
    for name in ("dialogue", "music"):
        s = probe(stems / f"{name}.wav")["streams"][0]
        assert (s["sample_rate"], s["channels"]) == ("48000", 2)
    dialogue = loudness(stems / "dialogue.wav")
    assert abs(dialogue["integrated_lufs"] - (-27)) <= 2.0, dialogue
    delivered = loudness(built / "episodes" / f"{EP}.mkv")
    assert delivered["true_peak_dbtp"] <= -2.0, delivered
    report = json.loads((built / "reports" / EP / "episode.json").read_text())
    assert report["pass"] and report["delivery"]["profile"]["name"] == "streaming"
    assert report["delivery"]["measured_on"] == "dialogue"
    checks = {c["metric"]: c for c in report["checks"]}
    assert checks["dialogue_loudness_off_target"]["pass"] and checks["dialogue_loudness_off_target"]["threshold"] == 2
    assert report["measured"]["dialogue_stem"]["integrated_lufs"] == pytest.approx(dialogue["integrated_lufs"], abs=0.1)
    assert report["measured"]["loudness_range_lu"] is not None


def test_no_temporary_files_and_nothing_left_to_do(built):
    assert [p for d in ("audio", "subs", "episodes", "build") for p in (built / d).rglob("*") if ".tmp" in p.name] == []
    assert planned(built) == set()


# --- what re-plans -----------------------------------------------------------------------


def edit_http(work, fn):
    cfg = load_yaml(work / "http.yaml")
    fn(cfg)
    dump_yaml(cfg, work / "http.yaml")


def test_transport_settings_replan_nothing(built, tmp_path):
    work = fork(built, tmp_path)
    edit_http(work, lambda c: c["voice"]["http"].update(timeout_s=99, retries=5, token_env="OTHER_TOKEN"))
    assert planned(work) == set()


def test_a_template_edit_replans_the_lines_it_renders_differently(built, tmp_path):
    work = fork(built, tmp_path)
    body = (
        '{"text": {{ text|tojson }}, "voice_id": {{ voice_id|tojson }}, "speed": {{ speed }}, '
        '"pitch": {{ pitch }}, "emotion": {{ emotion|tojson }}, "format": "wav"'
        '{% if speaker == "viktor" %}, "style": "menacing"{% endif %}}'
    )
    edit_http(work, lambda c: c["voice"]["http"].update(body=body))
    assert planned(work) == {
        ("voice", f"audio/{EP}/voice/s3_l1.wav"),
        ("qc_voice", f"reports/{EP}/voice/s3_l1.json"),
        # Viktor's mouth follows his new voice in s3's clip
        ("clip", f"clips/{EP}/s3.mp4"),
        ("qc_clip", f"reports/{EP}/clips/s3.json"),
        ("segment", f"build/{EP}/segments/s3.ts"),
        ("place_lines", f"build/{EP}/placement.json"),
        ("subtitles", f"subs/{EP}.eng.srt"),
    } | sound_jobs(EP) | episode_jobs(EP)


def test_a_characters_emotion_replans_only_their_lines(built, tmp_path):
    work = fork(built, tmp_path)
    path = work / "config" / "characters.yaml"
    chars = load_yaml(path)
    chars["characters"]["luna"]["voice"]["emotion"] = "afraid"
    dump_yaml(chars, path)
    assert {(r, o) for r, o in planned(work) if r == "voice"} == {("voice", f"audio/{EP}/voice/s2_l1.wav")}


def test_switching_to_ebu_r128_remixes_and_delivers_within_its_tolerances(built, tmp_path):
    work = fork(built, tmp_path)
    edit_http(work, lambda c: c["loudness"].update(profile="ebu-r128"))
    assert planned(work) == sound_jobs(EP) | episode_jobs(EP)
    run(work, "--cores", "2")
    delivered = loudness(work / "episodes" / f"{EP}.mkv")  # the Opus file, as a viewer gets it
    assert abs(delivered["integrated_lufs"] - (-23)) <= 1.0, delivered
    assert delivered["true_peak_dbtp"] <= -1.0, delivered
    report = json.loads((work / "reports" / EP / "episode.json").read_text())
    assert report["pass"] and report["delivery"]["measured_on"] == "programme"
    assert {c["metric"] for c in report["checks"]} >= {"loudness_off_target", "true_peak"}


# --- faults that stop a job ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(svc, tmp_path_factory):
    return project(tmp_path_factory.mktemp("http") / "faults", svc)


def assert_nothing_in_audio(work):
    """No voice, no half-written file: the refused reply stayed in the job's scratch folder."""
    audio = work / "audio"
    assert not audio.exists() or [p for p in audio.rglob("*") if p.is_file()] == []


def test_a_refused_token_says_which_variable_and_never_prints_it(svc, fresh):
    wrong = "wrong-token-7e2d9"
    proc = run(fresh, "--cores", "1", f"audio/{EP}/voice/s1_l1.wav", token=wrong, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr + "".join(p.read_text() for p in (fresh / "logs").rglob("*.log"))
    assert f"the token in the environment variable {ENV} was refused" in proc.stderr
    assert "HTTP 401: invalid bearer token (got Bearer ***)" in proc.stderr
    assert wrong not in out and "Traceback" not in proc.stderr
    assert_nothing_in_audio(fresh)


def test_a_reply_that_is_not_audio_is_rejected(svc, fresh):
    svc.inject("voice", "not-audio")
    proc = run(fresh, "--cores", "1", f"audio/{EP}/voice/s2_l1.wav", check=False)
    assert proc.returncode != 0
    assert "the reply is not audio (Content-Type text/html: <html><body><h1>Gateway" in proc.stderr
    assert_nothing_in_audio(fresh)
