"""The ready configs (config/services/) against doubles of the user's own services
(tests/user_services.py, on 127.0.0.1): voices shaped per character through a service that has
one voice, the studio's JSON-and-download voice, and the asynchronous music generator's tasks:
done, failed, never finishing, a restart mid-poll (tasks kept or forgotten), and Ctrl-C."""

import io
import os
import signal
import threading
import wave

import numpy as np
import pytest
from conftest import ROOT
from user_services import AceStep, EchoBrain, StudioVoice, espeak_wav

from tower_anime.audio.service import fetch_audio
from tower_anime.audio.voice import synthesize_line, wav_seconds
from tower_anime.check import check_inputs
from tower_anime.config import load_config, validate_config
from tower_anime.errors import ServiceError

SERVICES = ROOT / "config" / "services"


def plan_with(service_file, url, monkeypatch):
    """The test episode planned with a ready config, its URL pointed at a double."""
    monkeypatch.chdir(ROOT)
    config = load_config(ROOT / "tests" / "data" / "config.yaml", extra_files=[SERVICES / service_file])
    stage = "voice" if "voice" in service_file else "music"
    config[stage]["http"]["url"] = url
    checked = check_inputs(config, "test config")
    return config, checked.plans["test01"]


def centroid(path):
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(float)
    mag = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / 48000)
    return float((mag * freqs).sum() / mag.sum())


# --- voices --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def echo():
    with EchoBrain() as service:
        yield service


def test_echo_voice_gets_its_wire_format_and_tower_tells_the_characters_apart(echo, monkeypatch, tmp_path):
    config, plan = plan_with("echo-voice.yaml", echo.url("/api/echo/voice/synthesize"), monkeypatch)
    log = io.StringIO()
    out = {}
    for line_id, spec in plan.lines.items():
        out[spec["speaker"]] = tmp_path / f"{line_id}.wav"
        synthesize_line(spec, out[spec["speaker"]], transport=config["voice"]["http"], log=log)
    bodies = [c[3] for c in echo.calls("/api/echo/voice/synthesize")]
    assert {tuple(sorted(b)) for b in bodies} == {("length_scale", "speaker_id", "text")}
    assert {b["speaker_id"] for b in bodies} == {0, 1, 2}  # sent; the service ignores it
    assert {b["length_scale"] for b in bodies} == {round(1 / 1.08, 4), 1.0, round(1 / 0.88, 4)}
    assert all("Authorization" not in c[2] for c in echo.requests)  # no auth on this route
    # one voice for everybody on the service: the same text answers the same bytes whatever speaker_id
    specs = {s["speaker"]: s for s in plan.lines.values()}
    assert specs["luna"]["voice"] == {
        "engine": "http",
        "pitch": 4,
        "timbre": {"formant": 1, "brightness": 3, "warmth": -2},
    }
    assert "tempo" not in specs["viktor"]["voice"]  # the service honours length_scale
    c = {who: centroid(path) for who, path in out.items()}
    assert c["luna"] > c["akira"] > c["viktor"], c
    assert "accepted pcm_s16le reply" in log.getvalue()


def test_echo_voice_refuses_empty_text_with_its_400(echo, tmp_path):
    cfg = validate_config(
        {"voice": {"http": {"url": echo.url("/api/echo/voice/synthesize"), "token_env": None, "retries": 0}}}
    )["voice"]["http"]
    request = {
        "url": cfg["url"],
        "method": "POST",
        "headers": {},
        "reply": {"type": "audio", "pointer": ""},
        "body": {"text": "", "speaker_id": None, "length_scale": 1.0},
    }
    with pytest.raises(ServiceError, match=r"HTTP 400: Text must be 1-5000 characters"):
        fetch_audio(request, tmp_path / "r", cfg, "voice", "voice line t/l1")


def test_studio_voice_json_reply_is_downloaded_by_its_job_id(monkeypatch, tmp_path):
    token = "studio-jwt-8c1d"
    monkeypatch.setenv("TOWER_STUDIO_TOKEN", token)
    with StudioVoice(token=token) as studio:
        config, plan = plan_with("studio-voice.yaml", studio.url("/api/voice/synthesize"), monkeypatch)
        spec = next(s for s in plan.lines.values() if s["speaker"] == "viktor")
        log = io.StringIO()
        synthesize_line(spec, tmp_path / "v.wav", transport=config["voice"]["http"], log=log)
        post, get = studio.requests
    assert post[3] == {"character_slug": "viktor", "text": spec["text"], "engine": None}
    assert get[0] == "GET" and get[1].startswith("/api/voice/synthesis/") and get[1].endswith("/audio")
    assert post[2]["Authorization"] == get[2]["Authorization"] == f"Bearer {token}"
    assert spec["voice"] == {"engine": "http", "tempo": 0.88}  # per-character voices: speed only
    assert token not in log.getvalue() and wav_seconds(tmp_path / "v.wav") > 0.5


# --- the asynchronous music generator --------------------------------------------------------


def music_request(config, plan):
    spec = next(iter(plan.music.values()))
    return spec, config["music"]["http"]


@pytest.fixture
def ace(monkeypatch):
    with AceStep(work_s=0.6) as service:
        config, plan = plan_with("ace-step-music.yaml", service.url("/generate"), monkeypatch)
        config["music"]["http"]["job"].update(poll_s=0.1, wait_s=5)
        config["music"]["http"].update(retries=1, backoff_s=0.05, timeout_s=2, connect_timeout_s=0.5)
        yield service, config, plan


def fetch(ace, tmp_path, **job):
    service, config, plan = ace
    spec, transport = music_request(config, plan)
    transport["job"].update(job)
    log = io.StringIO()
    try:
        info = fetch_audio(spec["request"], tmp_path / "reply", transport, "music", "music cue t/street", log)
    finally:
        fetch.log = log.getvalue()
    return info, spec


def test_a_task_is_submitted_polled_and_its_file_read(ace, tmp_path):
    info, spec = fetch(ace, tmp_path)
    service = ace[0]
    ((_, _, _, body),) = service.calls("/generate")
    assert set(body) == {
        "prompt",
        "lyrics",
        "duration",
        "format",
        "instrumental",
        "infer_steps",
        "guidance_scale",
        "seed",
    }
    assert body["duration"] == spec["duration"] and body["instrumental"] is True and body["format"] == "wav"
    assert len(service.calls("/status/")) >= 3
    assert info["codec"] == "pcm_s16le" and abs(info["seconds"] - spec["duration"]) < 0.2
    assert "submitted, task" in fetch.log and ": queued after" in fetch.log and ": processing after" in fetch.log
    assert "completed after" in fetch.log


def test_a_failed_task_fails_the_job_with_the_services_reason(ace, tmp_path):
    ace[0].behaviour.append("fail")
    with pytest.raises(ServiceError, match=r"the service reports task [0-9a-f]+ failed: CUDA out of memory"):
        fetch(ace, tmp_path)


def test_a_task_that_never_finishes_gives_up_after_wait_s(ace, tmp_path):
    ace[0].behaviour.append("hang")
    with pytest.raises(
        ServiceError,
        match=r"did not finish within 1.5 s \(music.http.job.wait_s; last status: "
        r"processing\)",
    ):
        fetch(ace, tmp_path, wait_s=1.5)
    assert "is left running on the service (music.http.job.cancel_url is not set" in fetch.log


def test_a_restart_mid_poll_is_waited_for(ace, tmp_path):
    service = ace[0]
    service.work_s = 1.5
    threading.Timer(0.3, service.restart, kwargs={"down_s": 0.6}).start()
    info, _ = fetch(ace, tmp_path)
    assert "status route unavailable (could not connect" in fetch.log and "status route back after" in fetch.log
    assert len(service.calls("/generate")) == 1 and info["seconds"] > 1


def test_a_restart_that_forgets_the_task_submits_it_again(ace, tmp_path):
    service = ace[0]
    threading.Timer(0.25, service.restart, kwargs={"down_s": 0.3, "forget": True}).start()
    info, _ = fetch(ace, tmp_path)
    assert len(service.calls("/generate")) == 2 and info["seconds"] > 1
    assert "no longer knows task" in fetch.log and "(submission 2)" in fetch.log


def test_a_restart_that_forgets_every_time_stops(ace, tmp_path):
    service = ace[0]
    service.work_s = 5
    for at in (0.25, 1.2):
        threading.Timer(at, service.restart, kwargs={"down_s": 0.2, "forget": True}).start()
    with pytest.raises(ServiceError, match=r"the service forgot the task 2 time\(s\)"):
        fetch(ace, tmp_path)


class CancellableGenerator(AceStep):
    """Not the user's generator (it has no cancel route): one that has, for the cancel path."""

    routes = AceStep.routes + [("POST", r"/tasks/([0-9a-f]+)/cancel", "cancel", False)]

    def cancel(self, h, m, body, query):
        self.tasks.pop(m.group(1), None)
        self.send_json(h, 200, {"cancelled": True})


@pytest.mark.parametrize("cancellable", [False, True])
def test_ctrl_c_while_waiting_cancels_where_the_service_can(monkeypatch, tmp_path, cancellable):
    with (CancellableGenerator if cancellable else AceStep)(work_s=30) as service:
        config, plan = plan_with("ace-step-music.yaml", service.url("/generate"), monkeypatch)
        transport = config["music"]["http"]
        transport["job"].update(poll_s=0.1, cancel_url="/tasks/{task_id}/cancel" if cancellable else None)
        spec, _ = music_request(config, plan)
        log = io.StringIO()
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            fetch_audio(spec["request"], tmp_path / "reply", transport, "music", "music cue t/street", log)
        text = log.getvalue()
        if cancellable:
            assert "interrupted; task" in text and "cancelled" in text and not service.tasks
            assert len(service.calls("/tasks/", "POST")) == 1
        else:
            assert "interrupted; task" in text and "left running on the service" in text and service.tasks


def test_async_with_an_audio_reply_is_a_config_error(ace, tmp_path):
    _, config, plan = ace
    spec, transport = music_request(config, plan)
    request = {**spec["request"], "reply": {"type": "audio", "pointer": ""}}
    with pytest.raises(ServiceError, match=r"music.http.job.mode is async, and a finished task's status is JSON"):
        fetch_audio(request, tmp_path / "r", transport, "music", "music cue t/street")


def test_the_double_speaks_its_documented_format():
    wav = espeak_wav("Hello there.")
    assert wav[:4] == b"RIFF" and int.from_bytes(wav[24:28], "little") == 22050
