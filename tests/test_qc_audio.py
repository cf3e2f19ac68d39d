"""Voice line and music cue checks on real espeak speech and crafted bad audio."""

import pytest
from conftest import ROOT

from tower_anime.audio.voice import synthesize_line
from tower_anime.config import load_config
from tower_anime.media import ffmpeg
from tower_anime.qc.audio import music_report, voice_report

QC = load_config(ROOT / "config" / "config.yaml")["qc"]
TEXT = "Three minutes to the lab. Nobody outruns me in this city."


def line_spec(text=TEXT):
    return {
        "episode": "ep",
        "line": "sh1_l1",
        "speaker": "akira",
        "text": text,
        "voice": {"engine": "espeak", "pitch": 0, "speed": 1.0, "espeak_voice": "en-us"},
    }


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    path = tmp_path_factory.mktemp("voice") / "line.wav"
    synthesize_line(line_spec(), path, sample_rate=48000)
    return path


def make(tmp_path, name, args):
    out = tmp_path / name
    ffmpeg([*args, "-c:a", "pcm_s16le", out], f"making {name}")
    return out


def failed(report):
    return {c["metric"] for c in report["checks"] if not c["pass"]}


def test_spoken_line_passes(spoken):
    report = voice_report(spoken, line_spec(), QC["voice"], 48000)
    assert report["pass"], report["checks"]


def test_a_clipped_voice_line_fails(spoken, tmp_path):
    loud = make(tmp_path, "loud.wav", ["-i", spoken, "-af", "volume=24dB"])
    assert failed(voice_report(loud, line_spec(), QC["voice"], 48000)) == {"clipped_fraction"}


def test_a_silent_line_fails(tmp_path):
    silent = make(tmp_path, "silent.wav", ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "3.5"])
    assert failed(voice_report(silent, line_spec(), QC["voice"], 48000)) == {"rms_dbfs"}


def test_wrong_sample_rate_and_implausible_length(spoken, tmp_path):
    low = make(tmp_path, "low.wav", ["-i", spoken, "-ar", "22050"])
    assert failed(voice_report(low, line_spec(), QC["voice"], 48000)) == {"sample_rate"}
    # the same audio claimed for a two-letter line, and a long text squeezed into 0.5 s
    assert failed(voice_report(spoken, line_spec("Go!"), QC["voice"], 48000)) == {"chars_per_second"}
    short = make(tmp_path, "short.wav", ["-i", spoken, "-t", "0.5"])
    assert failed(voice_report(short, line_spec(), QC["voice"], 48000)) == {"chars_per_second"}


def music_spec(duration=4.0):
    return {"episode": "ep", "scene": "market", "duration": duration, "sample_rate": 48000}


def tone(tmp_path, name, seconds, volume="0.3"):
    return make(
        tmp_path,
        name,
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=220:sample_rate=48000:duration={seconds}",
            "-af",
            f"volume={volume}",
            "-ac",
            "2",
        ],
    )


def test_music_cue_checks(tmp_path):
    assert music_report(tone(tmp_path, "ok.wav", 4), music_spec(), QC["music"])["pass"]
    assert failed(music_report(tone(tmp_path, "short.wav", 3), music_spec(), QC["music"])) == {"seconds"}
    assert failed(music_report(tone(tmp_path, "quiet.wav", 4, "0.001"), music_spec(), QC["music"])) == {"rms_dbfs"}
    assert failed(music_report(tone(tmp_path, "hot.wav", 4, "20"), music_spec(), QC["music"])) == {"clipped_fraction"}
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEjunk")
    assert failed(music_report(junk, music_spec(), QC["music"])) == {"decodes"}
