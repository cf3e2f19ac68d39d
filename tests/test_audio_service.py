"""The HTTP audio client against a real local service (tests/audio_service.py): each fault
gives its documented behaviour, the token never shows, and only decodable audio is accepted."""

import io
import socket

import pytest
from audio_service import AudioService

from tower_anime.audio.request import render_body, service_request
from tower_anime.audio.service import fetch_audio, json_pointer
from tower_anime.audio.voice import synthesize_line, wav_seconds
from tower_anime.config import validate_config
from tower_anime.errors import InvalidInput, ServiceError

TOKEN = "tok-3f9a-very-secret"
ENV = "TOWER_TEST_VOICE_TOKEN"


@pytest.fixture(scope="module")
def svc():
    with AudioService(token=TOKEN, slow_s=1.5) as service:
        yield service


@pytest.fixture(autouse=True)
def clean(svc, monkeypatch):
    monkeypatch.setenv(ENV, TOKEN)
    svc.faults.clear()
    svc.requests.clear()
    svc.reply.update(voice="audio", music="audio")


def voice_cfg(svc, **over):
    cfg = validate_config(
        {
            "voice": {
                "http": {
                    "url": svc.url("/api/voice/synthesize"),
                    "token_env": ENV,
                    "timeout_s": 0.8,
                    "connect_timeout_s": 0.5,
                    "retries": 2,
                    "backoff_s": 0.05,
                    **over,
                }
            }
        }
    )
    return cfg["voice"]["http"]


def request_for(cfg, text="Nexus Corp is hiding something.", voice_id="luna", emotion="worried"):
    ctx = {"text": text, "voice_id": voice_id, "speed": 1.0, "pitch": 4, "emotion": emotion}
    return service_request(cfg, ctx, "line l1")


def fetch(svc, tmp_path, cfg=None, **kw):
    cfg = cfg or voice_cfg(svc)
    log = io.StringIO()
    info = fetch_audio(request_for(cfg, **kw), tmp_path / "reply", cfg, "voice", "voice line t/l1", log)
    return info, log.getvalue()


# --- requests and answers --------------------------------------------------------------------


def test_raw_audio_reply_with_the_rendered_body_and_the_bearer_token(svc, tmp_path):
    info, _ = fetch(svc, tmp_path, text='She said "run" & left <now>')
    assert info["codec"] == "pcm_s16le" and 0.8 < info["seconds"] < 4
    ((_, method, path, headers, body),) = svc.calls("voice")
    assert (method, path) == ("POST", "/api/voice/synthesize")
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert body == {
        "text": 'She said "run" & left <now>',
        "voice_id": "luna",
        "speed": 1.0,
        "pitch": 4,
        "emotion": "worried",
        "format": "wav",
    }


@pytest.mark.parametrize("mode,pointer", [("base64", "/result/audio"), ("url", "/url"), ("path", "/file/path")])
def test_json_replies_name_the_audio_by_a_pointer(svc, tmp_path, mode, pointer):
    svc.reply["voice"] = mode
    info, log = fetch(svc, tmp_path, voice_cfg(svc, reply={"type": mode, "pointer": pointer}))
    assert info["seconds"] > 0.8
    if mode == "url":  # the download is a second request, with the token (same origin)
        ((_, method, path, headers, _),) = svc.calls("files")
        assert method == "GET" and path.startswith("/files/") and headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_mp3_reply_is_decoded(svc, tmp_path):
    cfg = voice_cfg(svc, body='{"text": {{ text|tojson }}, "voice_id": {{ voice_id|tojson }}, "format": "mp3"}')
    info, _ = fetch(svc, tmp_path, cfg)
    assert info["codec"] == "mp3" and info["content_type"] == "audio/mpeg"


# --- faults that are retried -------------------------------------------------------------------


def test_500s_then_success_is_retried(svc, tmp_path):
    svc.inject("voice", "500", "503")
    info, log = fetch(svc, tmp_path)
    assert info["seconds"] > 0.8 and len(svc.calls("voice")) == 3
    assert "HTTP 500: model worker crashed" in log and "attempt 3/3" in log


@pytest.mark.parametrize("status,message", [("408", "request timeout"), ("429", "too many requests")])
def test_408_and_429_are_retried(svc, tmp_path, status, message):
    """A request timeout and a rate limit are the service's state, not the request's fault."""
    svc.inject("voice", status)
    info, log = fetch(svc, tmp_path)
    assert info["seconds"] > 0.8 and len(svc.calls("voice")) == 2
    assert f"HTTP {status}: {message}" in log and "attempt 2/3" in log


def test_a_slow_reply_times_out_and_is_retried(svc, tmp_path):
    svc.inject("voice", "slow")
    info, log = fetch(svc, tmp_path)
    assert "no answer within 0.8 s" in log and info["seconds"] > 0.8


def test_a_transfer_cut_short_is_retried(svc, tmp_path):
    svc.inject("voice", "cut")
    info, log = fetch(svc, tmp_path)
    assert "cut off in transfer (IncompleteRead" in log and info["seconds"] > 0.8


def test_persistent_5xx_gives_up_after_the_retries(svc, tmp_path):
    svc.inject("voice", "500", "500", "500")
    with pytest.raises(
        ServiceError,
        match=r"failed 3 time\(s\); last: HTTP 500: model worker crashed\. "
        r"Is the voice service running",
    ):
        fetch(svc, tmp_path)


def test_connection_refused_is_retried_then_explained(svc, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = voice_cfg(svc, url=f"http://127.0.0.1:{port}/api/voice/synthesize")
    with pytest.raises(ServiceError) as e:
        fetch(svc, tmp_path, cfg)
    assert "failed 3 time(s); last: could not connect ([Errno 111] Connection refused)" in str(e.value)
    assert "Check voice.http.url" in str(e.value)


# --- faults that fail at once ------------------------------------------------------------------


def test_401_names_the_variable_and_never_shows_the_token(svc, tmp_path):
    svc.inject("voice", "401")  # the service echoes the header it got
    with pytest.raises(ServiceError) as e:
        fetch(svc, tmp_path)
    msg = str(e.value)
    assert TOKEN not in msg and "Bearer ***" in msg
    assert f"the token in the environment variable {ENV} was refused" in msg
    assert len(svc.calls("voice")) == 1  # not retried


def test_401_without_the_variable_says_to_set_it(svc, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV)
    with pytest.raises(
        ServiceError,
        match=rf"HTTP 401: invalid bearer token \(got nothing\)\); set the "
        rf"environment variable {ENV} to the service's bearer token",
    ):
        fetch(svc, tmp_path)
    assert "Authorization" not in svc.calls("voice")[0][3]


def test_a_non_audio_reply_quoting_the_token_is_masked_too(svc, tmp_path):
    svc.inject("voice", "echo")
    with pytest.raises(ServiceError) as e:
        fetch(svc, tmp_path)
    assert "not audio FFmpeg can read" in str(e.value) and "it starts with 'Auth: Bearer ***" in str(e.value)
    assert TOKEN not in str(e.value)


def test_4xx_fails_at_once_with_the_services_message(svc, tmp_path):
    svc.inject("voice", "400")
    with pytest.raises(ServiceError, match=r"rejected the request \(HTTP 400: voice_id 'nobody' is not installed\)"):
        fetch(svc, tmp_path)
    assert len(svc.calls("voice")) == 1


@pytest.mark.parametrize(
    "fault,message",
    [
        ("not-audio", r"the reply is not audio \(Content-Type text/html: <html><body><h1>Gateway"),
        ("garbage", r"the reply is not audio FFmpeg can read \(Content-Type audio/wav\)"),
        ("truncated", r"the reply is a truncated WAV: its header announces \d+ bytes of samples, \d+ arrived"),
        ("empty", r"empty body; expected audio"),
    ],
)
def test_bad_replies_are_rejected(svc, tmp_path, fault, message):
    svc.inject("voice", fault)
    with pytest.raises(ServiceError, match=message):
        fetch(svc, tmp_path)
    assert len(svc.calls("voice")) == 1


def test_a_reply_shorter_than_its_container_declares_is_rejected(svc, tmp_path):
    """Half an MP3 whose Xing header counts every frame, sent whole (no transfer error): FFmpeg
    decodes the half without a word; only the declared length tells it is short."""
    svc.inject("voice", "short")
    with pytest.raises(
        ServiceError,
        match=r"the reply is truncated: it decodes to \d\.\d\d s of the \d\.\d\d s "
        r"its container declares",
    ):
        fetch(svc, tmp_path)
    assert len(svc.calls("voice")) == 1


def test_a_matroska_reply_cut_at_half_is_rejected(tmp_path):
    """The same for Matroska (its Segment Duration declares 3 s; FFmpeg's only word is a warning)."""
    from tower_anime.audio.verify import verify_audio
    from tower_anime.media import ffmpeg

    whole = tmp_path / "whole.mka"
    ffmpeg(
        ["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=3", "-c:a", "pcm_s16le", whole],
        "a test reply",
    )
    assert verify_audio(whole, "music cue t/a")["seconds"] == pytest.approx(3, abs=0.01)
    half = tmp_path / "half.mka"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ServiceError, match=r"decodes to 1\.\d\d s of the 3\.00 s its container declares"):
        verify_audio(half, "music cue t/a")


def test_a_json_reply_without_the_field_is_explained(svc, tmp_path):
    svc.reply["voice"] = "base64"
    with pytest.raises(ServiceError, match=r"nothing at /audio: no field 'audio' \(fields there: result\)"):
        fetch(svc, tmp_path, voice_cfg(svc, reply={"type": "base64", "pointer": "/audio"}))


def test_a_refused_line_leaves_nothing_in_audio(svc, tmp_path):
    cfg = voice_cfg(svc)
    spec = {
        "episode": "t",
        "line": "l1",
        "text": "Hello.",
        "voice": {"engine": "http"},
        "request": request_for(cfg, text="Hello."),
    }
    out = tmp_path / "audio" / "t" / "voice" / "l1.wav"
    svc.inject("voice", "truncated")
    with pytest.raises(ServiceError):
        synthesize_line(spec, out, transport=cfg)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    synthesize_line(spec, out, transport=cfg)  # the next answer is good
    assert 0.2 < wav_seconds(out) < 2 and [p.name for p in out.parent.iterdir()] == ["l1.wav"]


# --- the plan-time half --------------------------------------------------------------------


def test_templates_render_json_and_bad_ones_are_config_errors():
    assert render_body('{"t": {{ text|tojson }}, "n": {{ n }}}', {"text": 'a "b" <c>', "n": 2}) == {
        "t": 'a "b" <c>',
        "n": 2,
    }
    cfg = validate_config({})["voice"]["http"]
    for body, why in [
        ('{"t": {{ txet|tojson }}}', "uses an unknown variable ('txet' is undefined)"),
        ('{"t": {{ text }}}', "does not render to JSON"),
        ('{"t": {{ text|tojson }', "is not a valid Jinja2 template"),
    ]:
        with pytest.raises(InvalidInput) as e:
            service_request({**cfg, "body": body}, {"text": "hi"}, "line s1_l1 of episode ep01", "config/x.yaml")
        assert f"config/x.yaml: voice.http.body: {why}" in str(e.value)
        assert "(rendering it for line s1_l1 of episode ep01)" in str(e.value)


def test_json_pointer():
    doc = {"a": [{"b/c": 1, "m~n": 2}]}
    assert json_pointer(doc, "/a/0/b~1c") == 1 and json_pointer(doc, "/a/0/m~0n") == 2
    assert json_pointer(doc, "") is doc
    with pytest.raises(KeyError, match="no item '3' in a list of 1"):
        json_pointer(doc, "/a/3")


# --- verify.py on crafted replies ------------------------------------------------------------


def wav_file(path, seconds=0.5, data_size=None, extra_chunk=b"", cut=0):
    """A 16-bit mono 48 kHz WAV written by hand: an odd-sized chunk before `data` if asked, the
    data chunk's size field set to `data_size` (streaming writers put 0 or 0xFFFFFFFF), `cut`
    bytes missing at the end."""
    import struct

    import numpy as np

    pcm = (0.3 * 32767 * np.sin(2 * np.pi * 300 * np.arange(round(seconds * 48000)) / 48000)).astype("<i2").tobytes()
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 48000, 96000, 2, 16)
    extra = (
        struct.pack("<4sI", b"LIST", len(extra_chunk)) + extra_chunk + (b"\0" if len(extra_chunk) % 2 else b"")
        if extra_chunk
        else b""
    )
    data = struct.pack("<4sI", b"data", len(pcm) if data_size is None else data_size) + pcm
    body = b"WAVE" + fmt + extra + data
    path.write_bytes((b"RIFF" + struct.pack("<I", len(body)) + body)[: len(body) + 8 - cut])
    return path


def test_verify_accepts_whole_and_streamed_wavs_and_refuses_short_ones(tmp_path):
    from tower_anime.audio.verify import verify_audio

    ok = verify_audio(wav_file(tmp_path / "a.wav", extra_chunk=b"INFOodd"), "line")  # odd chunk, padded
    assert ok["seconds"] == pytest.approx(0.5, abs=0.001) and ok["codec"] == "pcm_s16le"
    for size in (0, 0xFFFFFFFF):  # a streaming writer's unknown length: decoded, accepted
        assert verify_audio(wav_file(tmp_path / f"s{size}.wav", data_size=size), "line")["seconds"] > 0.4
    with pytest.raises(
        ServiceError, match=r"truncated WAV: its header announces 48000 bytes of samples, 47998 arrived"
    ):
        verify_audio(wav_file(tmp_path / "cut.wav", cut=2), "line")
    with pytest.raises(ServiceError, match=r"holds no audio \(0\.020 s decoded"):
        verify_audio(wav_file(tmp_path / "tiny.wav", seconds=0.02), "line")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(ServiceError, match="the reply is empty; expected audio"):
        verify_audio(tmp_path / "empty.wav", "line")


def test_verify_refuses_a_reply_ffmpeg_reports_damaged(tmp_path):
    """An MP3 with 300 bytes overwritten mid-file: about as long as it declares (the decoder
    skips the frame), but FFmpeg reports it damaged."""
    from tower_anime.audio.verify import verify_audio
    from tower_anime.media import ffmpeg

    mp3 = tmp_path / "a.mp3"
    ffmpeg(["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=3", "-c:a", "libmp3lame", mp3], "mp3")
    data = bytearray(mp3.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 300] = b"\xaa" * 300
    mp3.write_bytes(bytes(data))
    with pytest.raises(ServiceError, match=r"damaged or truncated: FFmpeg says '.*Header missing"):
        verify_audio(mp3, "line")
