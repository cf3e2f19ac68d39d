"""Speech found on the dialogue stem against the script's shots: each check passes on a
stem where every line sits in its shot, and fails on the defect it names."""

import subprocess

import numpy as np
import pytest

from tower_anime.media import read_pcm
from tower_anime.qc.speech import active_frames, speech_checks

RATE = 48000
PICTURE = 6.0
# two shots with lines: s1 owns 0-3 s, s3 owns 4-6 s; s2 (3-4 s) has none
PLACED = [
    {"line": "s1_l1", "shot": "s1", "window": [0.0, 3.0], "voice_seconds": 1.0, "tempo": 1.0},
    {"line": "s3_l1", "shot": "s3", "window": [4.0, 6.0], "voice_seconds": 1.0, "tempo": 1.0},
]


def stem(*spans, seconds=PICTURE):
    """Silence with a 220 Hz 'voice' over each (start, end) span."""
    samples = np.zeros(round(seconds * RATE), dtype=np.float32)
    for start, end in spans:
        a, b = round(start * RATE), min(round(end * RATE), len(samples))
        t = np.arange(b - a) / RATE
        samples[a:b] = 0.3 * np.sin(2 * np.pi * 220 * t)
    return samples


def failed(samples, placed=PLACED):
    checks, _ = speech_checks(samples, RATE, placed, PICTURE)
    return {c["metric"] for c in checks if not c["pass"]}


def test_lines_inside_their_shots_pass():
    assert failed(stem((0.4, 1.4), (4.4, 5.4))) == set()


def test_a_line_played_in_a_shot_without_lines_fails():
    # s1's line pushed late, most of it over the silent shot s2
    assert failed(stem((2.6, 3.6), (4.4, 5.4))) == {"speech_outside_its_shots", "speech_in_shot[s1]"}
    # only its last 0.1 s spills over the cut
    assert failed(stem((2.0, 3.1), (4.4, 5.4))) == {"speech_outside_its_shots"}


def test_a_missing_line_fails_its_shot():
    assert failed(stem((0.4, 1.4))) == {"speech_in_shot[s3]"}


def test_speech_cut_at_the_end_fails():
    assert failed(stem((0.4, 1.4), (5.0, 6.5))) == {"speech_cut_at_end"}


def test_a_stem_not_as_long_as_the_picture_fails():
    assert failed(stem((0.4, 1.4), (4.4, 5.4), seconds=PICTURE - 1 / 24)) == {"dialogue_stem_samples_off_picture"}
    checks, _ = speech_checks(stem((0.4, 1.4), (4.4, 5.4), seconds=PICTURE - 1 / 24), RATE, PLACED, PICTURE)
    off = next(c for c in checks if c["metric"] == "dialogue_stem_samples_off_picture")
    assert off["value"] == RATE // 24  # how far off, whichever side


def test_read_from_a_24_bit_wav(tmp_path):
    raw = tmp_path / "raw.f32"
    stem((0.4, 1.4), (2.6, 3.6)).tofile(raw)
    wav = tmp_path / "dialogue.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", raw, "-c:a", "pcm_s24le", wav],
        check=True,
    )
    assert failed(read_pcm(wav, RATE)) == {"speech_outside_its_shots", "speech_in_shot[s3]"}
    assert failed(read_pcm(wav, RATE)[:RATE]) == {"speech_in_shot[s3]", "dialogue_stem_samples_off_picture"}


def measured(samples, placed=PLACED):
    checks, extra = speech_checks(samples, RATE, placed, PICTURE)
    return {c["metric"]: c for c in checks}, extra


def test_the_values_are_seconds_heard_and_stray():
    # 1.0 s in s1, 1.0 s in s3, and 0.3 s over the silent shot s2
    checks, extra = measured(stem((0.4, 1.4), (3.2, 3.5), (4.4, 5.4)))
    assert checks["speech_in_shot[s1]"]["value"] == pytest.approx(1.0, abs=0.02)
    assert checks["speech_in_shot[s1]"]["threshold"] == 0.5  # half the line's length
    assert checks["speech_outside_its_shots"]["value"] == pytest.approx(0.3, abs=0.02)
    assert extra == {
        "speech_seconds": pytest.approx(2.3, abs=0.03),
        "speech_outside_its_shots_seconds": pytest.approx(0.3, abs=0.02),
    }
    assert checks["speech_cut_at_end"]["value"] == 0.0


def test_a_sped_up_line_is_expected_shorter():
    fast = [{**PLACED[0], "tempo": 2.0}, PLACED[1]]
    checks, _ = measured(stem((0.4, 0.9), (4.4, 5.4)), fast)
    assert checks["speech_in_shot[s1]"]["threshold"] == 0.25 and checks["speech_in_shot[s1]"]["pass"]


def test_speech_touching_the_end_is_measured_as_cut():
    checks, _ = measured(stem((0.4, 1.4), (4.4, 5.98)))
    assert checks["speech_cut_at_end"]["value"] == pytest.approx(0.03, abs=0.011)
    assert not checks["speech_cut_at_end"]["pass"]
    # the last 50 ms silent: not cut
    assert measured(stem((0.4, 1.4), (4.4, 5.94)))[0]["speech_cut_at_end"]["pass"]


def test_a_stem_longer_than_the_picture_fails_too():
    checks, _ = measured(stem((0.4, 1.4), (4.4, 5.4), seconds=PICTURE + 0.5))
    assert checks["dialogue_stem_samples_off_picture"]["value"] == RATE // 2


def test_quiet_speech_counts_and_silence_does_not():
    # -40 dBFS speech is heard; a -70 dBFS hum (a noise floor) is not speech
    samples = stem((0.4, 1.4), (4.4, 5.4)) * (10 ** (-40 / 20) / 0.3)
    hum = (10 ** (-70 / 20)) * np.sin(2 * np.pi * 50 * np.arange(len(samples)) / RATE).astype(np.float32)
    checks, extra = measured((samples + hum).astype(np.float32))
    assert checks["speech_in_shot[s1]"]["pass"] and extra["speech_seconds"] == pytest.approx(2.0, abs=0.03)
    assert active_frames(hum.astype(np.float32), RATE).sum() == 0
    assert active_frames(np.zeros(RATE // 200, dtype=np.float32), RATE).tolist() == []  # under one frame


def test_a_line_on_its_windows_edges_is_inside():
    # speech exactly from the window's start to its end is inside (the edges belong to the shot)
    checks, _ = measured(stem((0.0, 3.0), (4.0, 6.0)))
    assert checks["speech_outside_its_shots"]["value"] == 0.0
